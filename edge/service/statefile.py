"""The speaker statistics file as a file: what may stand at its path, how it is written, its lock.

* Only a regular file, or nothing, is ever read, set aside or replaced at the path: a FIFO,
  a device (``--adaptation-state /dev/null`` as root), a socket, a folder or a symbolic link
  there is a ConfigError (exit status 78) naming it, checked with ``lstat`` before anything is
  opened and again on the open descriptor.
* Written atomically: a temporary file with an unpredictable name beside it, opened with
  ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 (a planted file or symbolic link is never
  written through), fsync, rename over the path, fsync of the folder. Folders made for it are
  0700 whatever the umask.
* `StateLock`: an advisory ``flock`` on ``<name>.lock`` beside the file, holding the pid of
  the listener that has it, so that a second listener on the same file knows who has it.
* `Seen`: what the file was when this process last read or wrote it (device, inode, size,
  mtime), so that a listener notices a file written by someone else (`ser-edge adapt reset`).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import stat
import time
from pathlib import Path
from typing import NamedTuple, Optional

from ser_edge.errors import ConfigError, shown
from ser_edge.sinks.private import make_private_dirs
from ser_edge.smallfile import kind_of, read_regular

#: how "since" is written: ISO 8601 UTC, the year always 4 digits (year 1 is 0001)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Seen(NamedTuple):
    """A file's identity and version: (device, inode, size, mtime ns)."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> "Seen":
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def seen(path: Path) -> Optional[Seen]:
    """What is at ``path`` now (not following a symbolic link); None if nothing (or it cannot be looked at)."""
    try:
        return Seen.of(os.lstat(path))
    except OSError:
        return None


def check_path(path: Path) -> None:
    """ConfigError unless ``path`` is a regular file or does not exist (see the module doc)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return  # missing, or its folder unreadable: reading or writing says what is wrong
    if not stat.S_ISREG(mode):
        raise ConfigError(f"adaptation_state {shown(path)}: is {kind_of(mode)}, not a statistics file; allowed: a "
                          "regular file, or a path where none exists yet (it is made there)")


def read_state(path: Path, limit: int) -> tuple[bytes, Seen]:
    """The file's bytes (at most ``limit + 1``) and what it was; OSError as from open and read
    (FileNotFoundError when there is none). Call `check_path` first: what it refuses is an OSError here."""
    before = seen(path)  # taken first: a write meanwhile makes it look changed later (read again), never the reverse
    return read_regular(path, limit, follow=False), before or Seen(0, 0, 0, 0)


def write_atomic(path: Path, payload: bytes) -> Seen:
    """Replace the file at ``path`` by ``payload`` (see the module doc); what the new file is.
    ConfigError if something other than a regular file stands there; OSError if the write fails."""
    make_private_dirs(path.parent)
    check_path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
            done = Seen.of(os.fstat(f.fileno()))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return done


def format_time(t: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with a 4-digit year (``time.strftime`` writes year 999 as "999")."""
    g = time.gmtime(t)
    return f"{g.tm_year:04d}-{g.tm_mon:02d}-{g.tm_mday:02d}T{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d}Z"


def parse_time(text: str) -> float:
    """The inverse of `format_time`: seconds since the epoch; ValueError for anything else."""
    import calendar  # here: a listener without a statistics file need not import it

    if not isinstance(text, str):
        raise ValueError(f"a time must be text, got {text!r}")
    return float(calendar.timegm(time.strptime(text, TIME_FORMAT)))


class StateLock:
    """An advisory lock on ``<state>.lock``: one listener per statistics file."""

    def __init__(self, state: Path) -> None:
        self.path = state.with_name(state.name + ".lock")
        self._fd: Optional[int] = None

    def acquire(self) -> Optional[str]:
        """Take the lock (non-blocking) and write this pid into it: None if taken (or the lock file
        cannot be made: then nothing is locked and the caller goes on); else who holds it."""
        try:
            make_private_dirs(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                return None
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another process
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            return f"pid {holder}" if holder.isdigit() else "another process"
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return None

    def release(self) -> None:
        """Let go of the lock (the file stays: removing it would race with the next taker)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

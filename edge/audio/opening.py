"""Opening an audio file once, without blocking, whatever it is.

A regular file becomes a seekable file object. A pipe, FIFO, socket or device
(``cat x.wav | ser-edge listen --from-wav /dev/stdin``) becomes a `StreamReader`, read
front to back, whose every wait for data is bounded by `STREAM_IDLE_S`: a FIFO that
nobody writes to is an `AudioError` naming it after that, never a hang. Folders and
terminals are refused.
"""

from __future__ import annotations

import os
import select
import stat
import time
from typing import BinaryIO, Optional

from ser_edge.errors import AudioError, shown

#: the longest a read from a pipe or FIFO waits for data, s
STREAM_IDLE_S = 10.0


def open_audio_file(name: str) -> BinaryIO:
    """Open once for binary reading, without blocking (a FIFO without a writer does not hang).

    A regular file: a seekable file object. A pipe, FIFO, socket or device: a `StreamReader`,
    read front to back. OS errors, folders and terminals are one-line `AudioError`s naming the file.
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except IsADirectoryError:
        raise AudioError(f"{shown(name)}: is a directory, not an audio file") from None
    except FileNotFoundError:
        raise AudioError(f"{shown(name)}: no such file") from None
    except PermissionError:
        raise AudioError(f"{shown(name)}: cannot read it (permission denied)") from None
    except OSError as exc:
        raise AudioError(f"{shown(name)}: cannot open it ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise AudioError(f"{shown(name)}: is a directory, not an audio file")
        if stat.S_ISREG(mode):
            return os.fdopen(fd, "rb")
        if os.isatty(fd):
            raise AudioError(f"{shown(name)}: is a terminal, not an audio file")
        return StreamReader(fd, name)  # type: ignore[return-value]
    except BaseException:
        os.close(fd)
        raise


class StreamReader:
    """A pipe, FIFO or device read front to back: ``read(n)`` returns n bytes or fewer at its end;
    each wait for data is bounded by ``idle_s`` (AudioError naming the file after that)."""

    def __init__(self, fd: int, name: str, idle_s: Optional[float] = None) -> None:
        self.fd, self.name = fd, name
        self.idle_s = STREAM_IDLE_S if idle_s is None else idle_s
        self.closed = False
        self._eof = False

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.fd

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            raise ValueError("a stream is read in bounded pieces")
        parts: list[bytes] = []
        got = 0
        while got < n and not self._eof:
            piece = self._read_some(min(n - got, 1 << 16))
            if not piece:
                self._eof = True
                break
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def _read_some(self, n: int) -> bytes:
        deadline = time.monotonic() + self.idle_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AudioError(f"{shown(self.name)}: no data for {self.idle_s:g} s (a pipe or FIFO that nobody "
                                 "writes to?)")
            try:
                ready, _, _ = select.select([self.fd], [], [], min(left, 0.25))
                if ready:
                    return os.read(self.fd, n)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise AudioError(f"{shown(self.name)}: read failed ({exc.strerror or exc})") from None

    def skip(self, n: int) -> int:
        """Read and drop ``n`` bytes; how many there were."""
        done = 0
        while done < n:
            piece = self.read(min(n - done, 1 << 16))
            if not piece:
                break
            done += len(piece)
        return done

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)

    def __enter__(self) -> "StreamReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The disk spool's files (see `ser_edge.sinks.spool_disk`): the folder and its lock, segments of
JSON lines ``{"id": n, "event": {...}}``, and the cursor; all private (0600 in 0700 folders).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from ser_edge.errors import ConfigError

from .private import make_private_dirs

log = logging.getLogger(__name__)

_SEGMENT = re.compile(r"^\d{16}\.jsonl$")
_READ_CHUNK = 4096


@dataclass
class Segment:
    """A segment file as the spool sees it."""

    path: Path
    size: int  # bytes
    records: int


def segment_paths(folder: Path) -> list[Path]:
    """The segment files in ``folder``, oldest first."""
    return sorted(p for p in folder.iterdir() if _SEGMENT.match(p.name))


def open_folder(folder: Path) -> int:
    """Make the folder (0700, parents too) and lock it for this process; the lock's descriptor."""
    try:
        make_private_dirs(folder)  # the spool root and its parents: private too
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ConfigError(f"spool.dir {folder}: cannot use it ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ConfigError(f"spool.dir {folder}: in use by another ser-edge process") from None
    return fd


def scan_segment(path: Path, done: int, last_id: int) -> Tuple[Segment, int, Optional[int], int, int]:
    """Read a segment at open: (segment, newest id, offset of its first record after ``done``,
    records from there on, their bytes). Ids not above ``last_id`` are not ours: unreadable."""
    data = path.read_bytes()
    segment, first_pending, offset, count, nbytes = Segment(path, len(data), 0), None, 0, 0, 0
    for line in lines_of(data):
        record_id = parse(line)[0] if line.endswith(b"\n") else None
        segment.records += 1
        if record_id is not None and record_id <= last_id:
            record_id = None  # out of order: not ours, treat as unreadable
        if record_id is not None:
            last_id = record_id
        if first_pending is None and record_id is not None and record_id > done:
            first_pending = offset
        if first_pending is not None:
            count, nbytes = count + 1, nbytes + len(line)
        offset += len(line)
    return segment, last_id, first_pending, count, nbytes


def read_cursor(folder: Path) -> int:
    """The id of the newest record known done (0 if none, or unreadable)."""
    try:
        return int((folder / "cursor").read_text(encoding="ascii").strip() or 0)
    except FileNotFoundError:
        return 0
    except ValueError:
        log.warning("spool %s: unreadable cursor; every record there is sent again", folder)
        return 0


def write_cursor(folder: Path, done_id: int, *, fsync: bool) -> None:
    """Replace the cursor atomically (mode 0600 whatever the umask); OSError if it cannot."""
    tmp = folder / "cursor.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with open(fd, "w", encoding="ascii") as f:
        os.fchmod(fd, 0o600)  # whatever the umask, or a tmp file left from before
        f.write(f"{done_id}\n")
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    os.replace(tmp, folder / "cursor")


def parse(line: bytes) -> Tuple[Optional[int], str]:
    """(id, event JSON) of a stored line, or (None, "") if it is not one of ours."""
    try:
        text = line.decode("utf-8")
        data = json.loads(text)
        if not (isinstance(data, dict) and isinstance(data.get("id"), int) and isinstance(data.get("event"), dict)):
            return None, ""
        start = text.index(',"event":') + len(',"event":')
        return data["id"], text[start:text.rindex("}")]
    except (UnicodeDecodeError, ValueError):
        return None, ""


def payload_of(record_id: int, line: bytes) -> str:
    """The event JSON of a line made by `record_line`."""
    return line[len(f'{{"id":{record_id},"event":'):-2].decode("utf-8")


def lines_of(data: bytes) -> list[bytes]:
    """The lines of ``data``, each with its newline (the last may lack it)."""
    lines = data.split(b"\n")
    return [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def read_line(path: Path, offset: int) -> bytes:
    with open(path, "rb", buffering=0) as f:
        chunks = []
        while True:
            chunk = os.pread(f.fileno(), _READ_CHUNK, offset + sum(map(len, chunks)))
            end = chunk.find(b"\n")
            if end >= 0 or not chunk:
                chunks.append(chunk[: end + 1] if end >= 0 else chunk)
                return b"".join(chunks)
            chunks.append(chunk)


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

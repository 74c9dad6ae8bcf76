"""The on-disk spool: events waiting for a broker or web server survive a restart of ser-edge.

One folder per sink (e.g. ``/var/lib/ser-edge/spool/mqtt``, mode 0700):

  <first id, 16 digits>.jsonl  segments, append-only, mode 0600, one record per line:
                               {"id": n, "event": {...}}. A segment is deleted once every
                               record in it is acknowledged or dropped; a new one is started
                               every 1/16 of the bounds.
  cursor                       the id of the newest record known done; replaced atomically when
                               a segment is deleted, at most every 5 s while acks arrive, at close
  lock                         flock()ed while open: one process per spool folder

fsync policy: "always" writes each record with one write() and fdatasync()s it before `append`
returns, so an event is on the medium before any delivery attempt and survives a power cut;
"never" leaves write-back to the kernel (dirty pages reach the disk within ~30 s): fewer writes
on an SD card, and a crash of the process alone still loses nothing.

At open, records after the cursor are waiting again, oldest first; a torn last line (a power
cut mid-write) is cut off. Records acknowledged after the cursor was last written are sent
again: duplicates, which seq and time tell apart.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from ser_edge.errors import ConfigError
from .spool import Spool

log = logging.getLogger(__name__)

FSYNC_POLICIES = ("always", "never")
_SEGMENT = re.compile(r"^\d{16}\.jsonl$")
_CURSOR_EVERY_S = 5.0
_READ_CHUNK = 4096


@dataclass
class _Segment:
    path: Path
    size: int  # bytes
    records: int


class DiskSpool(Spool):
    """A `Spool` in ``folder`` (created 0700); ConfigError if it cannot be used."""

    def __init__(self, folder: str | os.PathLike, *, max_events: int = 10_000, max_bytes: int = 20 << 20,
                 fsync: str = "always", name: str = "spool") -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {FSYNC_POLICIES}, got {fsync!r}")
        super().__init__(max_events=max_events, max_bytes=max_bytes, name=name)
        self.folder = Path(folder)
        self.fsync = fsync == "always"
        self._segment_events = max(1, max_events // 16)
        self._segment_bytes = min(4 << 20, max(4096, max_bytes // 16))  # read whole at start: keep it small
        self._segments: list[_Segment] = []
        self._head = 0  # offset in _segments[0] of the oldest pending record
        self._reader = (0, 0)  # (segment index, offset) of the next record to take
        self._fd: Optional[int] = None  # the last segment, open for appending
        self._cursor_written = (0, 0.0)  # (id, monotonic time)
        self._lock_fd = self._open_folder()
        try:
            self._load()
        except OSError as exc:
            os.close(self._lock_fd)
            raise ConfigError(f"spool {self.folder}: cannot read it ({exc.strerror or exc})") from None
        if self._pending:
            log.info("%s spool %s: %d event(s) from before wait for delivery", name, self.folder, self._pending)

    # ----- opening --------------------------------------------------------------------------
    def _open_folder(self) -> int:
        try:
            self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the spool root: private too
            self.folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"spool.dir {self.folder}: cannot use it ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ConfigError(f"spool.dir {self.folder}: in use by another ser-edge process") from None
        return fd

    def _load(self) -> None:
        done = self._read_cursor()
        last_id = done
        head: Optional[Tuple[int, int]] = None
        for path in sorted(p for p in self.folder.iterdir() if _SEGMENT.match(p.name)):
            segment, last_id, found = self._scan(path, done, last_id)
            index = len(self._segments)
            self._segments.append(segment)
            if head is None and found is not None:
                head = (index, found)
        self._fix_torn_tail()
        keep_from = head[0] if head is not None else len(self._segments)
        for segment in self._segments[:keep_from]:
            segment.path.unlink()  # every record in it was done before
        self._segments = self._segments[keep_from:]
        self._head = head[1] if head is not None else 0
        self._reader = (0, self._head)
        self._next_id, self._done_id = max(last_id, done) + 1, done
        if self._segments:
            self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)

    def _scan(self, path: Path, done: int, last_id: int) -> Tuple[_Segment, int, Optional[int]]:
        """Count a segment's records after ``done``; (segment, newest id, offset of the first pending)."""
        data = path.read_bytes()
        segment, first_pending, offset = _Segment(path, len(data), 0), None, 0
        for line in _lines(data):
            record_id = _parse(line)[0] if line.endswith(b"\n") else None
            segment.records += 1
            if record_id is not None and record_id <= last_id:
                record_id = None  # out of order: not ours, treat as unreadable
            if record_id is not None:
                last_id = record_id
            if first_pending is None and record_id is not None and record_id > done:
                first_pending = offset
            if first_pending is not None:
                self._pending += 1
                self._pending_bytes += len(line)
            offset += len(line)
        return segment, last_id, first_pending

    def _fix_torn_tail(self) -> None:
        """Cut a last line without its newline (a write cut short), so appends start clean."""
        if not self._segments:
            return
        last = self._segments[-1]
        data = last.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            os.truncate(last.path, keep)
            log.warning("spool %s: cut off a torn record (%d bytes) at the end of %s", self.folder,
                        len(data) - keep, last.path.name)
            self._pending -= 1 if self._pending else 0
            self._pending_bytes -= min(self._pending_bytes, len(data) - keep)
            last.size, last.records = keep, last.records - 1

    def _read_cursor(self) -> int:
        try:
            return int((self.folder / "cursor").read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:
            log.warning("spool %s: unreadable cursor; every record there is sent again", self.folder)
            return 0

    # ----- storage --------------------------------------------------------------------------
    def _store(self, record_id: int, line: bytes) -> None:
        last = self._segments[-1] if self._segments else None
        if last is None or last.records >= self._segment_events or last.size >= self._segment_bytes:
            last = self._new_segment(record_id)
        view = memoryview(line)
        while view:  # a regular file takes it in one write unless the disk is full
            view = view[os.write(self._fd, view):]  # type: ignore[arg-type]
        if self.fsync:
            os.fdatasync(self._fd)  # type: ignore[arg-type]
        last.size += len(line)
        last.records += 1

    def _new_segment(self, first_id: int) -> _Segment:
        if self._fd is not None:
            os.close(self._fd)
        path = self.folder / f"{first_id:016d}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        if self.fsync:
            _fsync_folder(self.folder)  # the new name must survive a power cut too
        segment = _Segment(path, 0, 0)
        self._segments.append(segment)
        return segment

    def _read_next(self) -> Tuple[Optional[int], str, int]:
        index, offset = self._reader
        if offset >= self._segments[index].size:
            index, offset = index + 1, 0
        line = _read_line(self._segments[index].path, offset)
        self._reader = (index, offset + len(line))
        record_id, payload = _parse(line)
        if record_id is None:
            log.warning("spool %s: skipped an unreadable record in %s", self.folder, self._segments[index].path.name)
        return record_id, payload, len(line)

    def _release_head(self, nbytes: int) -> None:
        self._drop_finished_segment()  # the record may start the next segment
        self._head += nbytes
        if not self._drop_finished_segment() and self._done_id != self._cursor_written[0] \
                and time.monotonic() - self._cursor_written[1] > _CURSOR_EVERY_S:
            self._write_cursor()

    def _drop_finished_segment(self) -> bool:
        """Delete the first segment if every record in it is done and it is not the one written to."""
        if len(self._segments) < 2 or self._head < self._segments[0].size:
            return False
        done = self._segments.pop(0)
        try:
            done.path.unlink()
        except OSError as exc:  # left behind; skipped at the next start (its ids are below the cursor)
            log.warning("spool %s: cannot delete %s (%s)", self.folder, done.path.name, exc.strerror or exc)
        self._head = 0
        index, offset = self._reader
        self._reader = (index - 1, offset) if index > 0 else (0, 0)
        self._write_cursor()
        return True

    def _reset_reader(self) -> None:
        self._reader = (0, self._head)

    def _write_cursor(self) -> None:
        tmp = self.folder / "cursor.tmp"
        try:
            with open(tmp, "w", encoding="ascii") as f:
                f.write(f"{self._done_id}\n")
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, self.folder / "cursor")
        except OSError as exc:  # only costs duplicates after a restart
            log.warning("spool %s: cannot write the cursor (%s)", self.folder, exc.strerror or exc)
        self._cursor_written = (self._done_id, time.monotonic())

    def close(self) -> None:
        """Write the cursor, close the files (deleting them when nothing waits), release the folder."""
        with self._cond:
            if self.closed:
                return
            self._write_cursor()
            if self._pending == 0:  # every record delivered: leave no event behind on disk
                for segment in self._segments:
                    segment.path.unlink()
                self._segments = []
            for fd in (self._fd, self._lock_fd):  # the lock last: the folder is ours until here
                if fd is not None:
                    os.close(fd)
            self._fd = None
        super().close()
        if self._pending:
            log.info("%s spool %s: %d event(s) kept for the next start", self.name, self.folder, self._pending)


def _parse(line: bytes) -> Tuple[Optional[int], str]:
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


def _lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, each with its newline (the last may lack it)."""
    lines = data.split(b"\n")
    return [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _read_line(path: Path, offset: int) -> bytes:
    with open(path, "rb", buffering=0) as f:
        chunks = []
        while True:
            chunk = os.pread(f.fileno(), _READ_CHUNK, offset + sum(map(len, chunks)))
            end = chunk.find(b"\n")
            if end >= 0 or not chunk:
                chunks.append(chunk[: end + 1] if end >= 0 else chunk)
                return b"".join(chunks)
            chunks.append(chunk)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

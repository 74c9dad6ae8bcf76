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

A full disk (or any write error): a record that cannot be written whole is cut back off the
segment (ftruncate to the size before it: never a torn record), and it waits in memory
instead, in order after those on disk; newer records join it there until the ones in memory
have left (delivered or dropped), then the disk is tried again. When nothing on disk is
waiting, the segments are deleted first to make room. The bounds and the overflow rule (the
oldest dropped, counted) hold for both places together. At close, the records in memory are
written to the disk if it has room again; those that still do not fit are lost, counted in
the value `close` returns and logged.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Deque, Optional, Tuple

from ser_edge.errors import ConfigError

from .spool import Spool
from .spool_files import (
    Segment,
    fsync_folder,
    open_folder,
    parse,
    payload_of,
    read_cursor,
    read_line,
    scan_segment,
    segment_paths,
    write_cursor,
)

log = logging.getLogger(__name__)

FSYNC_POLICIES = ("always", "never")
_CURSOR_EVERY_S = 5.0


class DiskSpool(Spool):
    """A `Spool` in ``folder`` (created 0700, as are the parents it makes); ConfigError if it cannot be used."""

    durable = True

    def __init__(self, folder: str | os.PathLike, *, max_events: int = 10_000, max_bytes: int = 20 << 20,
                 fsync: str = "always", name: str = "spool") -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {FSYNC_POLICIES}, got {fsync!r}")
        super().__init__(max_events=max_events, max_bytes=max_bytes, name=name)
        self.folder = Path(folder)
        self.fsync = fsync == "always"
        self._segment_events = max(1, max_events // 16)
        self._segment_bytes = min(4 << 20, max(4096, max_bytes // 16))  # read whole at start: keep it small
        self._segments: list[Segment] = []
        self._head = 0  # offset in _segments[0] of the oldest pending record
        self._reader = (0, 0)  # (segment index, offset) of the next record to take
        self._fd: Optional[int] = None  # the last segment, open for appending
        self._cursor_written = (0, 0.0)  # (id, monotonic time)
        self._disk_pending = 0  # waiting records on disk (they come before those held in memory)
        self._disk_taken = 0  # of those, taken since the last rewind
        self._held: Deque[Tuple[int, bytes]] = deque()  # (id, line) that did not fit on the disk
        self._held_taken = 0
        self._cursor_failing = False
        self._lock_fd = open_folder(self.folder)
        try:
            self._load()
        except OSError as exc:
            os.close(self._lock_fd)
            raise ConfigError(f"spool {self.folder}: cannot read it ({exc.strerror or exc})") from None
        if self._pending:
            log.info("%s spool %s: %d event(s) from before wait for delivery", name, self.folder, self._pending)

    # ----- opening --------------------------------------------------------------------------
    def _load(self) -> None:
        done = read_cursor(self.folder)
        last_id = done
        head: Optional[Tuple[int, int]] = None
        for path in segment_paths(self.folder):
            segment, last_id, found, count, nbytes = scan_segment(path, done, last_id)
            self._pending, self._pending_bytes = self._pending + count, self._pending_bytes + nbytes
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
            self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._disk_pending = self._pending

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

    # ----- storage --------------------------------------------------------------------------
    def _store(self, record_id: int, line: bytes) -> None:
        if not self._held and (self._write(record_id, line) or self._reclaim() and self._write(record_id, line)):
            self._disk_pending += 1
            return
        if not self._held:
            log.warning("spool %s: the disk is full or failing; events wait in memory (bounded by "
                        "max_events/max_mb) until it takes them again", self.folder)
        self._held.append((record_id, line))

    def _write(self, record_id: int, line: bytes) -> bool:
        """Append ``line`` to the last segment (a new one if due); False, with nothing written, if it cannot."""
        last = self._segments[-1] if self._segments else None
        try:
            if last is None or last.records >= self._segment_events or last.size >= self._segment_bytes:
                last = self._new_segment(record_id)
            view = memoryview(line)
            while view:  # a regular file takes it in one write unless the disk is full
                view = view[os.write(self._fd, view):]  # type: ignore[arg-type]
            if self.fsync:
                os.fdatasync(self._fd)  # type: ignore[arg-type]
        except OSError as exc:
            if last is not None and self._fd is not None:
                self._cut_back(last, exc)
            return False
        last.size += len(line)
        last.records += 1
        return True

    def _cut_back(self, segment: Segment, exc: OSError) -> None:
        """A write cut short: truncate the segment to its size before it, so no torn record stays."""
        try:
            os.ftruncate(self._fd, segment.size)  # type: ignore[arg-type]
        except OSError as again:
            log.error("spool %s: cannot cut a short write off %s (%s after %s)", self.folder, segment.path.name,
                      again.strerror or again, exc.strerror or exc)
        else:
            log.debug("spool %s: write failed (%s); cut back to %d bytes", self.folder, exc.strerror or exc,
                      segment.size)

    def _reclaim(self) -> bool:
        """Nothing on disk waits: delete the segments to make room; True if there were any."""
        if self._disk_pending or not self._segments:
            return False
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for segment in self._segments:
            try:
                segment.path.unlink()
            except OSError:
                pass
        self._segments, self._head, self._reader = [], 0, (0, 0)
        self._write_cursor()
        return True

    def _new_segment(self, first_id: int) -> Segment:
        path = self.folder / f"{first_id:016d}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        if self.fsync:
            fsync_folder(self.folder)  # the new name must survive a power cut too
        segment = Segment(path, 0, 0)
        self._segments.append(segment)
        return segment

    def _read_next(self) -> Tuple[Optional[int], str, int]:
        if self._disk_taken >= self._disk_pending:  # the rest waits in memory
            record_id, line = self._held[self._held_taken]
            self._held_taken += 1
            return record_id, payload_of(record_id, line), len(line)
        self._disk_taken += 1
        index, offset = self._reader
        if offset >= self._segments[index].size:
            index, offset = index + 1, 0
        line = read_line(self._segments[index].path, offset)
        self._reader = (index, offset + len(line))
        record_id, payload = parse(line)
        if record_id is None:
            log.warning("spool %s: skipped an unreadable record in %s", self.folder, self._segments[index].path.name)
        return record_id, payload, len(line)

    def _release_head(self, nbytes: int) -> None:
        if not self._disk_pending:
            self._held.popleft()
            self._held_taken = max(0, self._held_taken - 1)
            return
        self._disk_pending -= 1
        self._disk_taken = max(0, self._disk_taken - 1)
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
        self._disk_taken = self._held_taken = 0

    def _write_cursor(self) -> None:
        try:
            write_cursor(self.folder, self._done_id, fsync=self.fsync)
        except OSError as exc:  # only costs duplicates after a restart
            level = logging.DEBUG if self._cursor_failing else logging.WARNING
            log.log(level, "spool %s: cannot write the cursor (%s)", self.folder, exc.strerror or exc)
            self._cursor_failing = True
        else:
            self._cursor_failing = False
        self._cursor_written = (self._done_id, time.monotonic())

    def close(self) -> int:
        """Write what waits in memory to the disk if it fits, the cursor, close the files (deleting
        them when nothing waits), release the folder; the number of records lost (held in memory
        and still no room on the disk)."""
        with self._cond:
            if self.closed:
                return 0
            lost = self._write_held()
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
        if self._pending - lost:
            log.info("%s spool %s: %d event(s) kept for the next start", self.name, self.folder,
                     self._pending - lost)
        if lost:
            log.warning("%s spool %s: %d event(s) lost: held in memory, and the disk is still full", self.name,
                        self.folder, lost)
        return lost

    @property
    def held(self) -> int:
        """Records waiting in memory because the disk would not take them."""
        with self._cond:
            return len(self._held)

    def _write_held(self) -> int:
        """At close: move the records held in memory to the disk while it takes them; how many did not fit."""
        while self._held and (self._write(*self._held[0]) or self._reclaim() and self._write(*self._held[0])):
            self._held.popleft()
            self._disk_pending += 1
        return len(self._held)

"""Bounded queues of events for the sinks that deliver over a network (MQTT, webhook): spools.

A sink appends each event's JSON; its delivery thread takes records in order and acknowledges
each once the receiver has it (MQTT PUBACK, HTTP 2xx). Records taken but not acknowledged are
taken again after `rewind` (a new connection, or a new sink after a reload): delivery is at
least once, and every record keeps its event's original seq and time.

Bounds: at most ``max_events`` records and ``max_bytes`` bytes wait. An append that passes
either drops the OLDEST waiting records (taken ones included), counted in `dropped`, so memory
and disk stay bounded however long the receiver is away; the newest event is always kept.

`MemorySpool` keeps records in memory: bounded, lost at exit (`close` logs and returns how
many). `DiskSpool` (`ser_edge.sinks.spool_disk`) keeps them in a folder, so that they survive
a restart and are delivered then.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Deque, Optional, Set, Tuple

log = logging.getLogger(__name__)

Record = Tuple[int, str]  # (spool id, event JSON)


def record_line(record_id: int, payload: str) -> bytes:
    """How a record is stored (and measured against ``max_bytes``): one JSON line."""
    return f'{{"id":{record_id},"event":{payload}}}\n'.encode("utf-8")


class Spool:
    """Ordering, acknowledgements and bounds; a subclass stores the records.

    Subclasses implement `_store(id, line)`, `_read_next() -> (id or None if unreadable,
    payload, nbytes)` at the reader, `_release_head(nbytes)` (the oldest record is done),
    and `_reset_reader()` (the reader goes back to the oldest record).
    """

    def __init__(self, *, max_events: int, max_bytes: int, name: str) -> None:
        if max_events < 1 or max_bytes < 1:
            raise ValueError(f"spool bounds must be positive, got {max_events} events, {max_bytes} bytes")
        self.max_events, self.max_bytes, self.name = int(max_events), int(max_bytes), name
        self._cond = threading.Condition()
        self._next_id = 1
        self._pending = 0  # records not yet done (acknowledged or dropped), taken ones included
        self._pending_bytes = 0
        self._taken: Deque[Tuple[Optional[int], int]] = deque()  # (id or None, nbytes) from the oldest on
        self._taken_ids: Set[int] = set()
        self._acked: Set[int] = set()  # acknowledged, waiting for older ones
        self._done_id = 0  # newest id known done, for the cursor
        self.dropped = 0  # records dropped by the bounds since start
        self.corrupt = 0  # unreadable records skipped
        self.closed = False

    # ----- what sinks call ------------------------------------------------------------------
    def append(self, payload: str) -> int:
        """Store one event's JSON; its id. Drops the oldest records if a bound is passed."""
        with self._cond:
            if self.closed:
                raise RuntimeError(f"{self.name} spool is closed")
            record_id = self._next_id
            line = record_line(record_id, payload)
            self._store(record_id, line)
            self._next_id += 1
            self._pending += 1
            self._pending_bytes += len(line)
            dropped = 0
            while self._pending > self.max_events or (self._pending_bytes > self.max_bytes and self._pending > 1):
                dropped += self._drop_oldest()
            self._cond.notify_all()
        if dropped:
            self._note_drop(dropped)
        return record_id

    def make_room(self, payload: str, slack: int = 32, wait_s: float = 0.2) -> int:
        """Drop the oldest records now, as the append of ``payload`` (plus ``slack`` bytes, for
        digits that may still change) would; the number dropped. The append that follows then
        drops nothing: acknowledgements only make more room. Lets a status event count its own
        effect before it is written. If the records to drop are in flight, their acknowledgements
        get up to ``wait_s`` s to arrive first (they are then delivered, not lost)."""
        with self._cond:
            nbytes, dropped = len(record_line(self._next_id, payload)) + slack, 0

            def full() -> bool:
                return bool(self._pending) and (self._pending + 1 > self.max_events
                                                or self._pending_bytes + nbytes > self.max_bytes)

            if full() and self._taken:
                self._cond.wait_for(lambda: not full() or not self._taken, wait_s)
            while full():
                dropped += self._drop_oldest()
        if dropped:
            self._note_drop(dropped)
        return dropped

    def take(self, limit: int) -> list[Record]:
        """Up to ``limit`` records not taken yet, oldest first."""
        out: list[Record] = []
        with self._cond:
            while len(out) < limit and self._pending > len(self._taken):
                record_id, payload, nbytes = self._read_next()
                if record_id is None:
                    self._taken.append((None, nbytes))  # done as soon as the ones before it are
                    self._release_done()
                    continue
                self._taken.append((record_id, nbytes))
                self._taken_ids.add(record_id)
                out.append((record_id, payload))
        return out

    def ack(self, record_id: int) -> None:
        """The receiver has record ``record_id``; stale or repeated acks are ignored."""
        with self._cond:
            if record_id not in self._taken_ids:
                return
            self._acked.add(record_id)
            self._release_done()
            self._cond.notify_all()

    def rewind(self) -> None:
        """Records taken but not acknowledged will be taken again (oldest first)."""
        with self._cond:
            self._taken.clear()
            self._taken_ids.clear()
            self._acked.clear()
            self._reset_reader()
            self._cond.notify_all()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds for a record to take; True if there is one."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending > len(self._taken) or self.closed, timeout_s) \
                and not self.closed

    def wait_empty(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds until every record is done; True if so."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout_s)

    @property
    def pending(self) -> int:
        """Records waiting for an acknowledgement (taken or not)."""
        with self._cond:
            return self._pending

    @property
    def pending_bytes(self) -> int:
        with self._cond:
            return self._pending_bytes

    @property
    def unread(self) -> int:
        """Records not taken yet."""
        with self._cond:
            return self._pending - len(self._taken)

    #: whether waiting records outlive the process
    durable = False

    def close(self) -> int:
        """No more appends; the number of waiting records lost by closing (0 if kept)."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        return 0

    # ----- bookkeeping ----------------------------------------------------------------------
    def _release_done(self) -> None:
        # Called with the lock held: retire the oldest taken records while they are done.
        while self._taken and (self._taken[0][0] is None or self._taken[0][0] in self._acked):
            record_id, nbytes = self._taken.popleft()
            if record_id is None:
                self.corrupt += 1
            else:
                self._acked.discard(record_id)
                self._taken_ids.discard(record_id)
                self._done_id = record_id
            self._retire(nbytes)

    def _drop_oldest(self) -> int:
        """Drop the oldest pending record (taken or not); 1 if it was a readable record."""
        if self._taken:
            record_id, nbytes = self._taken.popleft()
            self._acked.discard(record_id)  # type: ignore[arg-type]
            self._taken_ids.discard(record_id)  # type: ignore[arg-type]
        else:
            record_id, _, nbytes = self._read_next()
        if record_id is not None:
            self._done_id = record_id
        self._retire(nbytes)
        if record_id is None:
            self.corrupt += 1
            return 0
        self.dropped += 1
        return 1

    def _retire(self, nbytes: int) -> None:
        self._pending -= 1
        self._pending_bytes -= nbytes
        self._release_head(nbytes)

    def _note_drop(self, n: int) -> None:
        # Log the first drop of an overflow and every thousandth after, not each one.
        before = self.dropped - n
        if before == 0 or before // 1000 != self.dropped // 1000:
            log.warning("%s spool full (%d events / %d bytes): dropped the oldest; %d dropped so far",
                        self.name, self.max_events, self.max_bytes, self.dropped)

    # ----- storage (subclasses) -------------------------------------------------------------
    def _store(self, record_id: int, line: bytes) -> None:
        raise NotImplementedError

    def _read_next(self) -> Tuple[Optional[int], str, int]:
        raise NotImplementedError

    def _release_head(self, nbytes: int) -> None:
        raise NotImplementedError

    def _reset_reader(self) -> None:
        raise NotImplementedError


class MemorySpool(Spool):
    """Records in memory: bounded like any spool, gone when the process ends."""

    def __init__(self, *, max_events: int = 10_000, max_bytes: int = 20 << 20, name: str = "memory") -> None:
        super().__init__(max_events=max_events, max_bytes=max_bytes, name=name)
        self._records: Deque[Tuple[int, str, int]] = deque()  # pending, oldest first
        self._reader = 0  # index into _records of the next record to take

    def _store(self, record_id: int, line: bytes) -> None:
        payload = line[len(f'{{"id":{record_id},"event":'):-2].decode("utf-8")
        self._records.append((record_id, payload, len(line)))

    def _read_next(self) -> Tuple[Optional[int], str, int]:
        record = self._records[self._reader]
        self._reader += 1
        return record

    def _release_head(self, nbytes: int) -> None:
        self._records.popleft()
        self._reader = max(0, self._reader - 1)

    def _reset_reader(self) -> None:
        self._reader = 0

    def close(self) -> int:
        """Close; the records still waiting are lost (logged), their number returned."""
        with self._cond:
            lost = 0 if self.closed else self._pending
        super().close()
        if lost:
            log.warning("%s spool: %d event(s) lost (it is in memory only)", self.name, lost)
        return lost

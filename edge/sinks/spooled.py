"""A sink that delivers events one at a time, in order, from a spool on its own thread.

`emit` only appends the event's JSON to the spool (`ser_edge.sinks.spool`: bounded; in memory, or
on disk so that it survives a restart), so a slow or dead receiver never stalls the audio
pipeline. The worker takes the oldest event, hands it to `_deliver_payload` (which retries
as its subclass sees fit) and removes it from the spool once delivered, or once given up
(counted as failed). Closing while a delivery is being retried leaves the event in the spool:
a disk spool sends it at the next start.
"""

from __future__ import annotations

import logging
import threading
from typing import Iterable, Optional

from ser_edge.listen.events import Event
from .spool import MemorySpool, Spool
from .base import BaseSink

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """Raised by `_deliver_payload` when the sink closes during a retry back-off."""


class SpooledSink(BaseSink):
    """Base for spool-backed sinks; subclasses implement `_deliver_payload(json_text)`.

    `_deliver_payload` returns on success and raises when it gives the event up (it is then
    counted as failed and removed) or `Interrupted` when closing. ``spool``: default a
    `MemorySpool` of ``queue_size`` events; a spool passed in outlives the sink.
    ``close_timeout_s``: how long `close()` waits for the spool to drain, s.
    """

    synchronous = False

    def __init__(self, *, name: str, spool: Optional[Spool] = None, queue_size: int = 100,
                 close_timeout_s: float = 5.0, event_types: Optional[Iterable[str]] = None) -> None:
        super().__init__(name=name, event_types=event_types)
        self._own_spool = spool is None
        self.spool = spool if spool is not None else MemorySpool(max_events=queue_size, name=name)
        self.close_timeout_s = close_timeout_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ser-edge-{name}-sink", daemon=True)
        self._thread.start()

    def _emit(self, event: Event) -> None:
        before = self.spool.dropped
        self.spool.append(event.to_json())
        if self.spool.dropped > before:  # full: the oldest waiting events made room
            self._count("dropped", self.spool.dropped - before)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self._deliver_next():
                    return  # closing: the event being retried stays in the spool
            except Exception:  # a spool that cannot be read (disk error): keep the worker alive
                log.exception("%s sink: cannot take from the spool; retrying in 1 s", self.name)
                self._stopping.wait(1.0)

    def _deliver_next(self) -> bool:
        """Deliver the oldest waiting event, if any (waits up to 0.25 s for one); False if closing."""
        if not self.spool.wait(0.25):
            return True
        for spool_id, payload in self.spool.take(1):
            try:
                self._deliver_payload(payload)
            except Interrupted:
                return False
            except Exception as exc:
                self.record_failure(exc)
            else:
                self.record_success()
            self.spool.ack(spool_id)
        return True

    def _deliver_payload(self, payload: str) -> None:
        raise NotImplementedError

    def note_retry(self, reason: object) -> None:
        """A failed attempt that will be retried: logged once per outage, not counted as a failure."""
        if not self._failing:
            log.warning("%s sink failing: %s (retrying; events wait in the spool)", self.name, reason)
        self._failing = True
        self._failures_in_row += 1

    def stopping(self, delay_s: float) -> bool:
        """Sleep `delay_s` seconds (a retry back-off) unless closing; True if closing."""
        return self._stopping.wait(delay_s)

    def flush(self, timeout_s: Optional[float] = None) -> bool:
        """Wait up to `timeout_s` seconds (default `close_timeout_s`) until the spool is empty."""
        return self.spool.wait_empty(self.close_timeout_s if timeout_s is None else timeout_s)

    def stats(self) -> dict:
        """The counters (``dropped`` includes events the full spool dropped), plus those waiting in it."""
        return {**super().stats(), "spooled": self.spool.pending}

    def close(self) -> None:
        """Stop accepting, drain for up to `close_timeout_s`, then end the worker."""
        if self.closed:
            return
        super().close()
        if not self.flush():
            kept = "" if self._own_spool and isinstance(self.spool, MemorySpool) else "; kept in the spool"
            log.warning("%s sink closed with %d event(s) undelivered%s", self.name, self.spool.pending, kept)
        self._stopping.set()  # cuts retry back-offs short
        self._thread.join(timeout=max(1.0, self.close_timeout_s))
        if self._own_spool:
            self.spool.close()
        else:
            self.spool.rewind()  # whoever takes over the spool sends what was in flight

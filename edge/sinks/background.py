"""Background delivery: one design for every sink whose receiver may be slow or away (the
command hook, the webhook, MQTT).

    emit() --append--> spool (bounded) --take--> worker thread --deliver--> receiver
                                       <--ack--- (once delivered, or given up)

`emit` only appends the event's JSON to the sink's spool and returns, so a slow or dead
receiver never stalls the audio pipeline. The spool (`ser_edge.sinks.spool`) is the bounded
queue: by default one in memory of ``queue_size`` events owned by the sink; for MQTT and the
webhook the listener passes its own spool for that sink (in memory, or on disk so that events
survive a restart), which outlives the sink and is handed on across a reload.

Overflow rule, the same for every background sink: when an append passes the spool's bounds
(events or bytes), the OLDEST waiting events are dropped to make room for the new one. Each
drop is counted in the sink's ``dropped`` (so in status ``extra.sink_failures``) and in the
spool's ``dropped`` (status ``extra.spool_dropped``), and logged once per thousand drops. A
delivery the sink gives up (a failing hook, a 4xx answer) is counted in ``failed`` and removed.

The worker delivers one event at a time through `_deliver_payload` (command hook, webhook);
MQTT replaces the worker with its own pump (`_run`) that keeps a window of events in flight,
on the same spool with the same rule.

Closing: `close(timeout_s)` stops accepting, waits for the spool to drain for at most
``min(close_timeout_s, timeout_s)`` s (the listener passes what is left of its shutdown
budget), then stops the worker without waiting longer. What is still waiting stays in the
spool: a sink's own (memory) spool loses it, logged as lost and kept in `lost`; the listener's
spool keeps it for the next sinks (a reload) or, at exit, says whether it is kept on disk or lost.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterable, Optional

from ser_edge.errors import ConfigError
from ser_edge.events import Event

from .base import BaseSink
from .spool import MemorySpool, Spool

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """Raised by `_deliver_payload` when the sink closes during a retry back-off or a delivery."""


class BackgroundSink(BaseSink):
    """Base for background-delivery sinks; see the module doc.

    Subclasses implement `_deliver_payload(json_text)` (returns on success; raises when it gives
    the event up, which is then counted as failed and removed; raises `Interrupted` when closing)
    and call `_start_worker()` at the end of their constructor. ``spool``: where events wait
    (one passed in outlives the sink), default a `MemorySpool` of ``queue_size`` events.
    ``close_timeout_s``: the longest `close()` waits for the spool to drain, s.
    """

    synchronous = False

    def __init__(self, *, name: str, spool: Optional[Spool] = None, queue_size: int = 100,
                 close_timeout_s: float = 5.0, event_types: Optional[Iterable[str]] = None) -> None:
        super().__init__(name=name, event_types=event_types)
        if queue_size < 1:
            raise ConfigError(f"{name} sink queue_size must be at least 1, got {queue_size}")
        self._own_spool = spool is None
        self.spool = spool if spool is not None else MemorySpool(max_events=queue_size, name=name)
        self.close_timeout_s = close_timeout_s
        self.lost = 0  # events lost with the sink's own spool at close
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def owns_spool(self) -> bool:
        """True if the spool is the sink's own (in memory, gone with the sink)."""
        return self._own_spool

    def _start_worker(self, thread_name: Optional[str] = None) -> None:
        self._thread = threading.Thread(target=self._run, name=thread_name or f"ser-edge-{self.name}-sink",
                                        daemon=True)
        self._thread.start()

    # ----- the pipeline's side ------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        before = self.spool.dropped
        self.spool.append(event.to_json())
        if self.spool.dropped > before:  # full: the oldest waiting events made room
            self._count("dropped", self.spool.dropped - before)
        self._queued(event)

    def make_room(self, event: Event) -> None:
        """Drop (and count) now what appending ``event`` would drop (`Spool.make_room`), if it is wanted."""
        if not self.closed and self.accepts(event):
            self._count("dropped", self.spool.make_room(event.to_json()))

    def _queued(self, event: Event) -> None:
        """Called after each append (MQTT wakes its pump here)."""

    # ----- the worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self._deliver_next():
                    return  # closing: the event being delivered stays in the spool
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

    def stopping(self, delay_s: float = 0.0) -> bool:
        """Sleep `delay_s` seconds (a retry back-off) unless closing; True if closing."""
        return self._stopping.wait(delay_s)

    # ----- flushing and closing -----------------------------------------------------------------
    def flush(self, timeout_s: Optional[float] = None) -> bool:
        """Wait up to `timeout_s` seconds (default `close_timeout_s`) until the spool is empty."""
        return self.spool.wait_empty(self.close_timeout_s if timeout_s is None else timeout_s)

    def stats(self) -> dict:
        """The counters (``dropped`` includes events the full spool dropped), plus those waiting in it."""
        return {**super().stats(), "spooled": self.spool.pending}

    def close(self, timeout_s: Optional[float] = None) -> None:
        """Stop accepting, drain for up to min(close_timeout_s, timeout_s) s, stop the worker."""
        if self.closed:
            return
        super().close()
        budget = self.close_timeout_s if timeout_s is None else max(0.0, min(timeout_s, self.close_timeout_s))
        deadline = time.monotonic() + budget
        self._drain(deadline)
        waiting = self.spool.pending
        if waiting:
            where = "lost with it" if self._own_spool else \
                "kept in the spool (on disk: sent at the next start)" if self.spool.durable else \
                f"left in the {self.spool.name} spool (in memory)"
            log.warning("%s sink closed with %d event(s) undelivered; %s", self.name, waiting, where)
        self._stopping.set()  # cuts retry back-offs and running deliveries short
        self._stop_worker(deadline)
        if self._own_spool:
            self.lost = self.spool.close()
        else:
            self.spool.rewind()  # whoever takes over the spool sends what was in flight

    def _drain(self, deadline: float) -> None:
        """Deliver what waits, until ``deadline`` (time.monotonic())."""
        self.flush(max(0.0, deadline - time.monotonic()))

    def _stop_worker(self, deadline: float) -> None:
        """End the worker; waits at most until ``deadline`` (a stuck delivery is a daemon thread)."""
        if self._thread is not None:
            self._thread.join(timeout=max(0.05, deadline - time.monotonic()))

"""A sink that delivers on its own thread from a bounded queue.

Used where one delivery can take seconds (an HTTP request, running a
program): `emit` only enqueues, so a slow or dead receiver never stalls the
audio pipeline. When the queue is full the new event is dropped and counted,
which bounds memory on a small device during a long outage.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Iterable, Optional

from ser_edge.errors import ConfigError
from ser_edge.listen.events import Event
from .base import BaseSink

log = logging.getLogger(__name__)

_STOP = object()  # queue sentinel that ends the worker


class QueuedSink(BaseSink):
    """Base for background-delivery sinks; subclasses implement `_deliver(event)`.

    `_deliver` returns normally on success and raises on failure (after its
    own retries). `queue_size` bounds waiting events; `close_timeout_s` is how
    long `close()` waits for the queue to drain (seconds).
    """

    synchronous = False

    def __init__(
        self,
        *,
        name: str,
        queue_size: int = 100,
        close_timeout_s: float = 5.0,
        event_types: Optional[Iterable[str]] = None,
    ) -> None:
        super().__init__(name=name, event_types=event_types)
        if queue_size < 1:
            raise ConfigError(f"{name} sink queue_size must be at least 1, got {queue_size}")
        self.close_timeout_s = close_timeout_s
        self._queue: "queue.Queue[object]" = queue.Queue(maxsize=queue_size)
        self._pending = 0  # queued or being delivered
        self._idle = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ser-edge-{name}-sink", daemon=True)
        self._thread.start()

    def _emit(self, event: Event) -> None:
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._done()
            self.record_failure(f"queue full ({self._queue.maxsize} events); event seq {event.seq} dropped",
                                dropped=True)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._deliver(item)  # type: ignore[arg-type]
            except Exception as exc:
                self.record_failure(exc)
            else:
                self.record_success()
            finally:
                self._done()

    def _deliver(self, event: Event) -> None:
        raise NotImplementedError

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def stopping(self, delay_s: float) -> bool:
        """Sleep `delay_s` seconds (a retry back-off) unless closing; True if closing."""
        return self._stopping.wait(delay_s)

    def flush(self, timeout_s: Optional[float] = None) -> bool:
        """Wait up to `timeout_s` seconds (default `close_timeout_s`) for the queue to drain."""
        deadline = time.monotonic() + (self.close_timeout_s if timeout_s is None else timeout_s)
        with self._idle:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        """Stop accepting, drain for up to `close_timeout_s`, then end the worker."""
        if self.closed:
            return
        super().close()
        drained = self.flush()
        if not drained:
            log.warning("%s sink closed with %d event(s) undelivered", self.name, self._pending)
        self._stopping.set()  # cuts retry back-offs short
        while True:  # make room for the sentinel: what is still queued is lost anyway
            try:
                self._queue.put_nowait(_STOP)
                break
            except queue.Full:
                self._discard_one()
        self._thread.join(timeout=max(1.0, self.close_timeout_s))

    def _discard_one(self) -> None:
        try:
            self._queue.get_nowait()
        except queue.Empty:
            return
        self._done()
        self.record_failure("closed before delivery", dropped=True)

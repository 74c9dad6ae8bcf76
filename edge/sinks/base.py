"""What every sink shares: the `Sink` protocol, a type filter, failure counting.

A sink delivers events somewhere. It must never raise into the pipeline for a
transport fault (a dead broker, a full disk, a slow web server): classifying
audio matters more than any one output. Faults are logged once when a sink
starts failing and once when it recovers, so an outage does not flood the log,
and they are counted in `stats()`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Dict, Iterable, List, Optional, Protocol, Sequence, runtime_checkable

from ser_edge.config.settings import unknown_event_types
from ser_edge.errors import ConfigError
from ser_edge.events import EVENT_TYPES, Event

log = logging.getLogger(__name__)


@runtime_checkable
class Sink(Protocol):
    """Anything the pipeline can hand events to."""

    name: str

    def emit(self, event: Event) -> None:
        """Deliver or queue `event`; never blocks for long, never raises for transport faults."""

    def flush(self) -> bool:
        """Wait (bounded) until what was emitted is delivered; True if nothing is left pending."""

    def close(self) -> None:
        """Flush, release resources; later emits are ignored. A `BaseSink` also takes
        ``timeout_s``, the longest it may take (the listener's shutdown budget)."""


def check_event_types(event_types: Optional[Iterable[str]]) -> Optional[frozenset]:
    """Validate a sink's `event_types` option; None means every type."""
    if event_types is None:
        return None
    if isinstance(event_types, str):
        event_types = [event_types]
    wanted = frozenset(event_types)
    unknown = unknown_event_types(sorted(wanted))
    if unknown:
        raise ConfigError(f"unknown event type(s) {', '.join(unknown)}; allowed: {', '.join(EVENT_TYPES)}")
    return wanted


class BaseSink:
    """Filtering, counting and fault isolation around a subclass's `_emit`.

    Subclasses implement `_emit(event)` and may raise from it; `emit` turns
    that into a logged, counted failure. A synchronous sink has delivered when
    `_emit` returns; a queued one (`synchronous = False`) reports deliveries
    itself through `record_success` / `record_failure`. Counters: `emitted` (accepted and
    handed on), `failed` (delivery gave up), `dropped` (not even attempted,
    e.g. a full queue or a closed sink), `filtered` (type not wanted).
    """

    synchronous = True

    def __init__(self, *, name: str, event_types: Optional[Iterable[str]] = None) -> None:
        self.name = name
        self.event_types = check_event_types(event_types)
        self.closed = False
        self._counts = {"emitted": 0, "delivered": 0, "failed": 0, "dropped": 0, "filtered": 0}
        self._count_lock = threading.Lock()
        self._failing = False
        self._failures_in_row = 0

    def accepts(self, event: Event) -> bool:
        return self.event_types is None or event.type in self.event_types

    def emit(self, event: Event) -> None:
        if self.closed:
            self._count("dropped")
            return
        if not self.accepts(event):
            self._count("filtered")
            return
        self._count("emitted")
        try:
            self._emit(event)
        except Exception as exc:  # any transport fault stays inside the sink
            self.record_failure(exc)
        else:
            if self.synchronous:
                self.record_success()

    def _emit(self, event: Event) -> None:
        raise NotImplementedError

    def flush(self) -> bool:
        return True

    def close(self, timeout_s: Optional[float] = None) -> None:
        """Later emits are dropped; ``timeout_s``: the longest closing may take (a background sink waits)."""
        self.closed = True

    def stats(self) -> Dict[str, int]:
        """A snapshot of the counters."""
        with self._count_lock:
            return dict(self._counts)

    def _count(self, key: str, n: int = 1) -> None:
        with self._count_lock:
            self._counts[key] += n

    def record_success(self) -> None:
        """Note a delivery; logs once when a failing sink recovers."""
        self._count("delivered")
        if self._failing:
            log.info("%s sink recovered after %d failure(s)", self.name, self._failures_in_row)
        self._failing = False
        self._failures_in_row = 0

    def record_failure(self, exc: object, *, dropped: bool = False) -> None:
        """Note a failed (or dropped) delivery; logs the first of a run of failures."""
        self._count("dropped" if dropped else "failed")
        self._failures_in_row += 1
        if not self._failing:
            log.warning("%s sink failing: %s (further failures are counted, not logged)", self.name, exc)
        else:
            log.debug("%s sink failure: %s", self.name, exc)
        self._failing = True

    def __enter__(self) -> "BaseSink":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MultiSink:
    """Fan-out to several sinks; one failing (even raising) sink never stops the others."""

    def __init__(self, sinks: Sequence[Sink] = (), *, name: str = "multi") -> None:
        self.name = name
        self.sinks: List[Sink] = list(sinks)

    def add(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            self._guard(sink, "emit", event)

    def flush(self) -> bool:
        return all([self._guard(sink, "flush") is not False for sink in self.sinks])

    def close(self, timeout_s: Optional[float] = None) -> None:
        """Close every sink, in order; with ``timeout_s`` they share that many seconds (each one
        gets what the ones before it left, cut to its own close timeout)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for sink in self.sinks:
            if deadline is not None and isinstance(sink, BaseSink):
                self._guard(sink, "close", max(0.0, deadline - time.monotonic()))
            else:
                self._guard(sink, "close")

    def stats(self) -> Dict[str, Dict[str, int]]:
        """Counters per sink name (sinks without `stats()` are left out)."""
        return {s.name: s.stats() for s in self.sinks if hasattr(s, "stats")}  # type: ignore[attr-defined]

    @staticmethod
    def _guard(sink: Sink, method: str, *args: object) -> object:
        # Third-party sinks may not follow the never-raise rule; contain them here.
        try:
            return getattr(sink, method)(*args)
        except Exception:
            log.exception("%s sink raised from %s()", getattr(sink, "name", sink), method)
            return False

    def __enter__(self) -> "MultiSink":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

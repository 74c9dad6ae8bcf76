"""Reopening a failed source with exponential back-off, without ever blocking for long.

A `SourceError` (microphone unplugged, stdin FIFO without a writer) is logged once per
outage, the source is closed, and reopened after ``min_s``, then twice as long each time up
to ``max_s``. Meanwhile `read` returns empty blocks at least every quarter second, so the
caller's loop keeps handling signals (and can tell a known, retried fault from a hang).
Other errors (a bad file, a missing dependency, a configuration error) pass through:
retrying would not help.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Optional

from ser_edge.errors import SourceError

from .base import EMPTY, MAX_WAIT_S, Block, Source

log = logging.getLogger(__name__)


class ResilientSource:
    """Wraps a `Source`; same interface. ``recovering`` is True while the source is down."""

    def __init__(self, source: Source, *, min_s: float = 1.0, max_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 on_change: Optional[Callable[[str], None]] = None) -> None:
        self.source = source
        self.min_s, self.max_s = min_s, max_s
        self._clock, self._sleep = clock, sleep
        self._on_change = on_change  # told "up" / "down: reason" (e.g. for sd_notify STATUS)
        self._retry_at: Optional[float] = None  # when down: next attempt
        self._delay = min_s
        self._down_since = 0.0
        self.failures = 0  # faults since start

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def sample_rate(self) -> int:
        return self.source.sample_rate

    @property
    def recovering(self) -> bool:
        return self._retry_at is not None

    def open(self) -> None:
        """Open the source; a SourceError starts the back-off instead of propagating."""
        try:
            self.source.open()
        except SourceError as exc:
            self._fail(exc)
        else:
            self._notify("up")

    def read(self) -> Optional[Block]:
        if self._retry_at is not None:
            return self._wait_and_retry()
        try:
            return self.source.read()
        except SourceError as exc:
            self._fail(exc)
            return EMPTY

    def close(self) -> None:
        self.source.close()

    def _fail(self, exc: SourceError) -> None:
        self.failures += 1
        first = self._retry_at is None
        if first:
            self._down_since = self._clock()
            self._delay = self.min_s
            log.error("audio source failed: %s; reopening in %.1f s (then backing off to %.0f s)",
                      exc, self._delay, self.max_s)
            self._notify(f"down: {exc}")
        else:
            log.debug("audio source still failing: %s; next try in %.1f s", exc, self._delay)
        self.source.close()
        self._retry_at = self._clock() + self._delay
        self._delay = min(self._delay * 2, self.max_s)

    def _wait_and_retry(self) -> Block:
        left = (self._retry_at or 0.0) - self._clock()
        if left > 0:
            self._sleep(min(left, MAX_WAIT_S))
            return EMPTY
        try:
            self.source.open()
        except SourceError as exc:
            self._fail(exc)
            return EMPTY
        log.warning("audio source back after %.1f s: %s", self._clock() - self._down_since, self.source.name)
        self._retry_at = None
        self._notify("up")
        return EMPTY

    def _notify(self, state: str) -> None:
        if self._on_change is not None:
            self._on_change(state)

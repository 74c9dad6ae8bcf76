"""Stopping `ser-edge listen`: its signals, one shutdown budget, and the truth about what is lost.

* SIGTERM / SIGINT ask the main loop to stop (between blocks). From then on the whole
  shutdown (the final events, every sink's flush and close, the spools, the source) has
  `SHUTDOWN_BUDGET_S` seconds, below the unit's ``TimeoutStopSec=15`` so that systemd never
  kills it mid-flush. The sinks share the budget in order: each closes within its own close
  timeout or what the ones before it left, whichever is shorter. The budget also starts when
  the audio ends.
* A second SIGTERM / SIGINT during shutdown ends the process at once, exit status 128 + the
  signal (130 for SIGINT, 143 for SIGTERM), after one log line with what that loses.
* If the budget runs out all the same (stdout is a pipe nobody reads, a write that never
  returns), a watchdog thread does the same: one log line, exit status 143.
* SIGHUP asks for a reload. The handlers are installed before start-up work begins (model
  load, broker wait), so an early SIGHUP is a reload request, not death by signal (129).
  Only the interpreter's own start and the imports before `Listener.run` (well under a second)
  still have the default action.

What a shutdown loses is counted (`ser_edge.service.losses`) and logged in one line:
``shutdown: N event(s) lost (...)``, with the events kept on disk for the next start.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)

#: from the first stop signal (or the end of the audio) to exit, at most, s
SHUTDOWN_BUDGET_S = 10.0
#: kept back from the budget for what follows the sinks (spools, the source), s
RESERVE_S = 1.0
#: how long the last log line may take before a forced exit goes ahead anyway, s
_LAST_WORDS_S = 1.0


class Stopper:
    """Signal handlers and the shutdown budget of one listening session.

    ``losses``: called for the one-line account of what a forced exit loses now.
    """

    def __init__(self, losses: Callable[[], str], budget_s: float = SHUTDOWN_BUDGET_S) -> None:
        self.losses, self.budget_s = losses, budget_s
        self.stop = self.reload = False
        self.deadline: Optional[float] = None  # time.monotonic() the process must be gone by
        self._done = threading.Event()
        self._previous: dict = {}

    def install(self) -> None:
        """Take over SIGTERM, SIGINT and SIGHUP (main thread only)."""
        handlers = {signal.SIGTERM: self._on_stop, signal.SIGINT: self._on_stop, signal.SIGHUP: self._on_hup}
        self._previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _on_stop(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.stop:
            self.exit_now(f"second signal ({name})", 128 + signum)
        self.stop = True
        log.info("stopping on %s (within %.0f s; a second signal ends at once)", name, self.budget_s)
        self.begin()

    def _on_hup(self, signum: int, frame: Any) -> None:
        self.reload = True

    def begin(self) -> None:
        """Start the budget (once) and the watchdog that ends the process when it runs out."""
        if self.deadline is not None:
            return
        self.deadline = time.monotonic() + self.budget_s
        threading.Thread(target=self._watch, name="ser-edge-shutdown", daemon=True).start()

    def left(self) -> float:
        """Seconds the sinks may still take (the budget less `RESERVE_S`); the whole budget before it starts."""
        if self.deadline is None:
            return self.budget_s - RESERVE_S
        return max(0.0, self.deadline - RESERVE_S - time.monotonic())

    def finished(self) -> None:
        """Shutdown is complete: the watchdog stands down."""
        self._done.set()

    def _watch(self) -> None:
        assert self.deadline is not None
        if not self._done.wait(max(0.0, self.deadline - time.monotonic())):
            self.exit_now(f"shutdown budget of {self.budget_s:g} s used up", 128 + signal.SIGTERM)

    def exit_now(self, why: str, status: int) -> None:
        """Log what is lost and end the process with ``status`` at once (no further cleanup)."""
        timer = threading.Timer(_LAST_WORDS_S, os._exit, (status,))  # even if logging blocks
        timer.daemon = True
        timer.start()
        try:
            log.error("%s: exiting now (status %d); %s", why, status, self.losses())
        finally:
            os._exit(status)

"""Command hook sink: runs a program per event with the event JSON on stdin.

The program is started from an argv list, never through a shell, so event
content can never be interpreted as shell syntax. It runs on the sink's
worker thread with a timeout; the pipeline only enqueues.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Iterable, Mapping, Optional, Sequence

from ser_edge.errors import ConfigError
from ser_edge.listen.events import Event
from .queued import QueuedSink

log = logging.getLogger(__name__)

#: how much of a failing program's stderr goes into the log (characters)
_STDERR_TAIL = 300


class CommandSink(QueuedSink):
    """Run `argv` once per event, writing the event's JSON line to its stdin.

    Parameters (keyword-only; times in seconds):
      argv: program and arguments, e.g. ["/usr/local/bin/on-emotion", "--quiet"].
      timeout_s: the program is killed after this long and the run counts as failed.
      env: extra environment variables; the program also gets SER_EDGE_EVENT_TYPE
        and, for emotion events, SER_EDGE_LABEL.
      queue_size, close_timeout_s: as for every queued sink.
      event_types: e.g. ("emotion",) to run only for emotions (default: all).
    """

    def __init__(
        self,
        *,
        argv: Sequence[str],
        timeout_s: float = 10.0,
        env: Optional[Mapping[str, str]] = None,
        queue_size: int = 20,
        close_timeout_s: float = 10.0,
        event_types: Optional[Iterable[str]] = None,
        name: str = "command",
    ) -> None:
        if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
            raise ConfigError(f"command hook needs a non-empty list of strings (no shell), got {argv!r}")
        if shutil.which(argv[0]) is None:
            raise ConfigError(f"command hook program {argv[0]!r} not found or not executable")
        if timeout_s <= 0:
            raise ConfigError(f"command hook timeout_s must be positive, got {timeout_s}")
        self.argv = list(argv)
        self.timeout_s = timeout_s
        self.env = dict(env or {})
        super().__init__(name=name, queue_size=queue_size, close_timeout_s=close_timeout_s,
                         event_types=event_types)

    def _environment(self, event: Event) -> Mapping[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env["SER_EDGE_EVENT_TYPE"] = event.type
        label = getattr(event, "label", None)
        if label is not None:
            env["SER_EDGE_LABEL"] = label
        return env

    def _deliver(self, event: Event) -> None:
        try:
            done = subprocess.run(
                self.argv,
                input=(event.to_json() + "\n").encode("utf-8"),
                stdout=subprocess.DEVNULL,  # our stdout may be the event stream
                stderr=subprocess.PIPE,
                env=self._environment(event),
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.argv[0]} killed after {self.timeout_s} s (seq {event.seq})") from None
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip()[-_STDERR_TAIL:]
            raise RuntimeError(f"{self.argv[0]} exited with status {done.returncode}: {tail}")

"""The stamp on every event: an `EventFactory` holds the device name, the model reference, the
sequence counter and the wall clock, so that the pipeline core builds events from only what it knows.
"""

from __future__ import annotations

import itertools
import os
import threading
import time as _time
from typing import Any, Callable, Dict, Mapping, Optional

from .event import EmotionEvent, SpeechEndEvent, SpeechStartEvent, StatusEvent
from .fields import ModelRef, Scalar, format_time


class EventFactory:
    """Stamps device, model, sequence number and wall-clock time onto events.

    The pipeline core calls `emotion(...)`, `speech_start(...)` and so on with
    only what it knows; `clock` (seconds since the epoch, default time.time)
    can be replaced in tests. Thread-safe: `seq` never repeats within a factory.
    """

    def __init__(
        self,
        *,
        model_id: str,
        model_sha256: str,
        device: Optional[str] = None,
        clock: Callable[[], float] = _time.time,
    ) -> None:
        self.device = device or hostname()
        self.model = ModelRef(id=model_id, sha256=model_sha256)
        self._clock = clock
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _stamp(self) -> Dict[str, Any]:
        with self._lock:
            seq = next(self._counter)
        return {"time": format_time(self._clock()), "device": self.device, "model": self.model, "seq": seq}

    def emotion(
        self, *, label: str, confidence: float, scores: Mapping[str, float], start_s: float, end_s: float,
        arousal: Optional[float] = None, valence: Optional[float] = None,
        adapted_s: Optional[float] = None, scope: str = "window",
    ) -> EmotionEvent:
        """An `emotion` event; times in audio seconds from the stream start, arousal/valence -1..1."""
        return EmotionEvent(
            **self._stamp(), label=label, confidence=confidence, scores=scores, start_s=start_s, end_s=end_s,
            arousal=arousal, valence=valence,
            adapted_s=adapted_s, scope=scope,
        )

    def speech_start(self, *, start_s: float) -> SpeechStartEvent:
        return SpeechStartEvent(**self._stamp(), start_s=start_s)

    def speech_end(self, *, start_s: float, end_s: float) -> SpeechEndEvent:
        return SpeechEndEvent(**self._stamp(), start_s=start_s, end_s=end_s)

    def status(
        self,
        *,
        uptime_s: float,
        audio_s: float,
        audio_dropped_s: float,
        windows_classified: int,
        latency_p50_ms: Optional[float] = None,
        latency_p95_ms: Optional[float] = None,
        latency_max_ms: Optional[float] = None,
        extra: Optional[Mapping[str, Scalar]] = None,
    ) -> StatusEvent:
        """A `status` event; see `StatusEvent` for the units."""
        return StatusEvent(
            **self._stamp(),
            uptime_s=uptime_s,
            audio_s=audio_s,
            audio_dropped_s=audio_dropped_s,
            windows_classified=windows_classified,
            latency_p50_ms=latency_p50_ms,
            latency_p95_ms=latency_p95_ms,
            latency_max_ms=latency_max_ms,
            extra=extra or {},
        )


def hostname() -> str:
    """The host's name: ``socket.gethostname()`` (on Linux, the nodename of uname(2), which glibc's
    gethostname returns), without importing socket (its enums are 0.4 MB of a listener's RSS)."""
    return os.uname().nodename

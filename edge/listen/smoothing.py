"""Decision smoothing: turn a stream of per-window class scores into a few stable decisions.

A pure core: scores and audio times in, `Decision` objects out; no clock, no I/O.

Rules, in audio time (seconds of stream, as the windows' ``start_s``/``end_s``):

* **Average.** The last ``average_windows`` score vectors are averaged. One window alone never
  decides: the average needs at least ``min(2, average_windows)`` windows, so a single window
  at the start of an utterance cannot emit even when it is long (1.5 s windows are longer than
  ``min_duration_s``).
* **Candidate.** A label is the candidate while it is the argmax of the average and reaches its
  threshold. The candidate's stretch starts at the start of the first window where it was.
* **Emit.** A stretch emits one `Decision` once it has lasted ``min_duration_s`` (stretch start
  to the end of the current window). A long steady stretch emits once, not once per window.
* **Hold.** A label is not emitted again until ``hold_s`` after the end of its last emission,
  unless a different label was emitted in between; a stretch held back by this emits when the
  hold ends, if it still stands.
* **Reset.** `reset` (at speech end) forgets the scores and the candidate, so stale speech does
  not leak into the next utterance; the hold is kept, as it is about what listeners were told.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from ser_edge.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Decision:
    """One smoothed emotion decision.

    ``confidence`` is the label's smoothed score (0-1); ``scores`` maps every label to its
    smoothed score; ``start_s``/``end_s`` are the audio time, seconds, from the start of the
    decided stretch to the end of the window that completed it.
    """

    label: str
    confidence: float
    scores: dict[str, float]
    start_s: float
    end_s: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (scores rounded to 4 decimals, times to milliseconds)."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
        }


class Smoother:
    """Averages window scores and emits a `Decision` when a label holds steadily."""

    def __init__(
        self,
        *,
        labels: Sequence[str],
        average_windows: int = 3,
        thresholds: Union[float, Mapping[str, float]] = DEFAULT_THRESHOLD,
        min_duration_s: float = 1.0,
        hold_s: float = 3.0,
    ) -> None:
        """Set up; every argument is checked (ConfigError naming it and what is allowed).

        Args:
            labels: class names, in the order of the model's scores.
            average_windows: how many of the latest windows are averaged (>= 1).
            thresholds: smoothed score (0-1) a label needs to be a candidate: one number for
                all, or a mapping label -> number (labels left out get 0.5).
            min_duration_s: audio a candidate must hold before it is emitted, seconds.
            hold_s: refractory time, seconds, before the same label may be emitted again.
        """
        self.labels = _check_labels(labels)
        if isinstance(average_windows, bool) or not isinstance(average_windows, int) or average_windows < 1:
            raise ConfigError(f"smoothing average_windows={average_windows!r} is invalid; allowed: an integer >= 1")
        self.average_windows = average_windows
        self.thresholds = _check_thresholds(thresholds, self.labels)
        self._threshold_array = np.array([self.thresholds[k] for k in self.labels])
        self.min_duration_s = _check_seconds("min_duration_s", min_duration_s)
        self.hold_s = _check_seconds("hold_s", hold_s)
        self._min_windows = min(2, average_windows)
        self._history: deque[np.ndarray] = deque(maxlen=average_windows)
        self._last_start: Optional[float] = None
        self._last_label: Optional[str] = None  # last emitted label and the end of its window
        self._last_end = -math.inf
        self.reset()

    def reset(self) -> None:
        """Forget the scores and the candidate (call at speech end); the hold is kept."""
        self._history.clear()
        self._candidate: Optional[int] = None
        self._since = 0.0
        self._emitted = False

    def update(self, scores: np.ndarray, start_s: float, end_s: float) -> Optional[Decision]:
        """Add one window's scores; return a `Decision` when one is due, else None.

        Args:
            scores: class probabilities for the window, shape (n_classes,), any float dtype.
            start_s: window start, seconds of audio time.
            end_s: window end, seconds of audio time (>= start_s).
        """
        vec = self._check_scores(scores)
        start_s, end_s = _check_window(start_s, end_s)
        if self._last_start is not None and start_s < self._last_start:
            log.warning("audio time went back from %.3f s to %.3f s: smoothing starts afresh", self._last_start, start_s)
            self._last_label, self._last_end = None, -math.inf
            self.reset()
        self._last_start = start_s
        self._history.append(vec)
        average = np.mean(np.stack(self._history), axis=0)
        self._track_candidate(average, start_s)
        if not self._due(end_s):
            return None
        return self._emit(average, end_s)

    # ----- internals -----------------------------------------------------------------------
    def _track_candidate(self, average: np.ndarray, start_s: float) -> None:
        best = int(np.argmax(average))
        ok = len(self._history) >= self._min_windows and average[best] >= self._threshold_array[best]
        candidate = best if ok else None
        if candidate != self._candidate:
            self._candidate, self._since, self._emitted = candidate, start_s, False

    def _due(self, end_s: float) -> bool:
        if self._candidate is None or self._emitted:
            return False
        if end_s - self._since < self.min_duration_s:
            return False
        held = self.labels[self._candidate] == self._last_label and end_s - self._last_end < self.hold_s
        return not held

    def _emit(self, average: np.ndarray, end_s: float) -> Decision:
        label = self.labels[self._candidate]  # type: ignore[index]
        self._emitted, self._last_label, self._last_end = True, label, end_s
        smoothed = {k: float(v) for k, v in zip(self.labels, average)}
        decision = Decision(label, smoothed[label], smoothed, self._since, end_s)
        log.debug("decision %s %.2f over %.2f-%.2f s", label, decision.confidence, self._since, end_s)
        return decision

    def _check_scores(self, scores: np.ndarray) -> np.ndarray:
        vec = np.asarray(scores, dtype=np.float64)
        if vec.shape != (len(self.labels),):
            raise ValueError(f"scores must have shape ({len(self.labels)},) for labels {list(self.labels)}, got {vec.shape}")
        if not np.all(np.isfinite(vec)):
            raise ValueError(f"scores must be finite, got {vec.tolist()}")
        return vec


def _check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str) or not isinstance(labels, Sequence) or not labels:
        raise ConfigError(f"smoothing labels={labels!r} is invalid; allowed: a non-empty list of names")
    if not all(isinstance(k, str) and k for k in labels) or len(set(labels)) != len(labels):
        raise ConfigError(f"smoothing labels={list(labels)!r} is invalid; allowed: distinct non-empty names")
    return tuple(labels)


def _check_threshold(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"smoothing {name}={value!r} is invalid; allowed: a number in [0, 1]")
    return float(value)


def _check_thresholds(thresholds: Union[float, Mapping[str, float]], labels: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(thresholds, Mapping):
        value = _check_threshold("thresholds", thresholds)
        return {k: value for k in labels}
    unknown = sorted(set(thresholds) - set(labels))
    if unknown:
        raise ConfigError(
            f"smoothing thresholds name unknown label(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(labels)}"
        )
    out = {k: DEFAULT_THRESHOLD for k in labels}
    for key, value in thresholds.items():
        out[key] = _check_threshold(f"thresholds[{key!r}]", value)
    return out


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < math.inf:
        raise ConfigError(f"smoothing {name}={value!r} is invalid; allowed: a number of seconds >= 0")
    return float(value)


def _check_window(start_s: float, end_s: float) -> tuple[float, float]:
    start, end = float(start_s), float(end_s)
    if not (math.isfinite(start) and math.isfinite(end) and start <= end):
        raise ValueError(f"window times must be finite with start_s <= end_s, got {start_s!r}, {end_s!r}")
    return start, end

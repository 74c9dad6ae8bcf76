"""`ser-edge listen --show`: a live view of the listener in the terminal.

Drawn on stderr (stdout keeps carrying events): the input level as a meter in dBFS, the
speech gate's state, one bar per class for the last classified window, and the latest
decision. On a terminal the view redraws itself in place with ANSI cursor moves, at most
10 times a second; when stderr is not a terminal it prints one plain line a second.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Callable, Optional, Sequence

from ser_edge.events import EmotionEvent, Event, SpeechEndEvent, SpeechStartEvent

#: the meter spans this range, dBFS
METER_FLOOR_DB, METER_TOP_DB = -80.0, 0.0
BAR_WIDTH = 30
_UP_AND_CLEAR = "\x1b[{n}F"  # cursor to the start of the line n lines up
_CLEAR_LINE = "\x1b[2K"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells filled to ``fraction`` (0-1), with eighth-cell resolution."""
    fraction = min(1.0, max(0.0, fraction))
    eighths = int(round(fraction * width * 8))
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part else ""
    return ("█" * full + partial).ljust(width)


class LiveView:
    """Call `update(pipeline)` after each block and `on_event(event)` for each event."""

    def __init__(self, labels: Optional[Sequence[str]] = None, *, stream: Optional[IO[str]] = None,
                 clock: Callable[[], float] = time.monotonic, ansi: Optional[bool] = None) -> None:
        self.labels = list(labels or [])  # taken from the pipeline when not given
        self.stream = stream or sys.stderr
        self.ansi = _is_tty(self.stream) if ansi is None else ansi
        self._clock = clock
        self._interval_s = 0.1 if self.ansi else 1.0
        self._last_draw = -1e9
        self._lines_drawn = 0
        self._decision: Optional[EmotionEvent] = None
        self._speech: str = "silence"

    def on_event(self, event: Event) -> None:
        if isinstance(event, EmotionEvent):
            self._decision = event
        elif isinstance(event, SpeechStartEvent):
            self._speech = f"speech since {event.start_s:.1f} s"
        elif isinstance(event, SpeechEndEvent):
            self._speech = f"silence (last speech {event.start_s:.1f}-{event.end_s:.1f} s)"

    def update(self, pipeline: object, *, force: bool = False) -> None:
        """Redraw from the pipeline's level_db, speaking, last_scores and audio_s (rate-limited)."""
        now = self._clock()
        if not force and now - self._last_draw < self._interval_s:
            return
        self._last_draw = now
        lines = self.render(pipeline)
        if self.ansi:
            self._draw_in_place(lines)
        else:
            self.stream.write(" | ".join(line.strip() for line in lines[:2] + lines[-1:]) + "\n")
        self.stream.flush()

    def render(self, pipeline: object) -> list[str]:
        """The view as text lines (no ANSI codes)."""
        level = float(getattr(pipeline, "level_db", METER_FLOOR_DB))
        speaking = bool(getattr(pipeline, "speaking", False))
        scores = getattr(pipeline, "last_scores", None) or {}
        audio_s = float(getattr(pipeline, "audio_s", 0.0))
        labels = self.labels or list(getattr(pipeline, "labels", []))
        fill = (level - METER_FLOOR_DB) / (METER_TOP_DB - METER_FLOOR_DB)
        lines = [f"level  {bar(fill)} {level:6.1f} dBFS   t={audio_s:8.1f} s",
                 f"gate   {'SPEECH' if speaking else 'silence':<7} {self._speech}"]
        width = max((len(k) for k in labels), default=5)
        for label in labels:
            value = scores.get(label)
            shown = "  -  " if value is None else f"{value:5.2f}"
            lines.append(f"{label:<{width}} {bar(value or 0.0)} {shown}")
        d = self._decision
        lines.append("decision  " + ("none yet" if d is None else
                                     f"{d.label.upper()} {d.confidence:.2f} ({d.start_s:.1f}-{d.end_s:.1f} s)"
                                     + _affect(d)))
        return lines

    def _draw_in_place(self, lines: list[str]) -> None:
        out = []
        if self._lines_drawn:
            out.append(_UP_AND_CLEAR.format(n=self._lines_drawn))
        out.extend(_CLEAR_LINE + line + "\n" for line in lines)
        self.stream.write("".join(out))
        self._lines_drawn = len(lines)

    def close(self) -> None:
        """Leave the last frame on screen."""
        self.stream.flush()


def _affect(decision: object) -> str:
    """What the decision line ends with: "  arousal +0.61 valence -0.20", or "" without them."""
    arousal, valence = getattr(decision, "arousal", None), getattr(decision, "valence", None)
    return "" if arousal is None or valence is None else f"  arousal {arousal:+.2f} valence {valence:+.2f}"


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

"""Typed events that the listening pipeline emits, and their one JSON form.

An event is a small frozen dataclass; it knows how to turn itself into a dict
and one compact JSON line, and `event_from_dict` turns that back into the same
event. Transport (stdout, file, MQTT, webhook, command) lives in
`ser_edge.sinks` and never shapes the payload, so every consumer sees the same
document (the split rhasspy/wyoming uses).

The pipeline core does not build the common fields itself: an `EventFactory`
(`ser_edge.events.factory`) holds the device name, the model reference, the
sequence counter and the wall clock, and stamps them onto each event.

Numbers are rounded when an event is made, so that what an event holds is what
it sends and a JSON round trip gives an equal event: scores and confidence to
4 decimals, arousal and valence to 3, audio times to the millisecond, latencies
to 0.01 ms (`ser_edge.events.fields`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Type

from .fields import (
    AFFECT_DECIMALS,
    MS_DECIMALS,
    SCORE_DECIMALS,
    SECONDS_DECIMALS,
    FrozenMap,
    ModelRef,
    Scalar,
    check_span,
    rounded,
    scalar,
    set_field,
)


@dataclass(frozen=True)
class Event:
    """Fields every event carries. Subclasses set the class attribute `type`.

    `time` is the wall clock when the event was made (ISO 8601 UTC); `seq`
    counts events made by one `EventFactory`, from 1, with no gaps.
    """

    type: ClassVar[str] = ""

    time: str
    device: str
    model: ModelRef
    seq: int

    def to_dict(self) -> Dict[str, Any]:
        """The event as plain JSON-ready data, `type` first."""
        data: Dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, ModelRef):
                value = value.to_dict()
            elif isinstance(value, Mapping):
                value = dict(value)
            elif value is None and f.name == "adapted_s":
                continue  # only speaker-normalised models say it
            data[f.name] = value
        return data

    def to_json(self) -> str:
        """One compact line of JSON, no trailing newline."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


#: what an emotion event decided (`EmotionEvent.scope`)
SCOPES = ("window", "utterance")


@dataclass(frozen=True)
class EmotionEvent(Event):
    """One classified window: the winning label and every class's score.

    `scores` holds all classes in the model's label order; `start_s`/`end_s`
    are audio seconds from the start of the stream (from the sample count);
    `arousal`/`valence` (-1..1) are the scores' point on the circumplex
    (`ser_edge.model.circumplex`), None when the model has no placement.
    `adapted_s`: for a speaker-normalised model, the seconds of speech its statistics
    rest on; absent (None, left out of the JSON) for other models.
    `scope`: what was decided: "window" (the smoothed scores of classification windows) or
    "utterance" (a stretch of speech as a whole, `ser_edge.listen.utterances`).
    """

    type: ClassVar[str] = "emotion"

    label: str
    confidence: float
    scores: Mapping[str, float]
    start_s: float
    end_s: float
    arousal: Optional[float] = None
    valence: Optional[float] = None
    adapted_s: Optional[float] = None
    scope: str = "window"

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        confidence = rounded("confidence", self.confidence, SCORE_DECIMALS)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence!r}")
        scores = {str(k): rounded(f"scores[{k}]", v, SCORE_DECIMALS) for k, v in self.scores.items()}
        if scores and self.label not in scores:
            raise ValueError(f"label {self.label!r} is not one of the scored classes {list(scores)}")
        set_field(self, "confidence", confidence)
        set_field(self, "scores", FrozenMap(scores))  # keeps the model's label order
        check_span(self)
        for name in ("arousal", "valence"):
            value = getattr(self, name)
            if value is not None:
                value = rounded(name, value, AFFECT_DECIMALS)
                if not -1.0 <= value <= 1.0:
                    raise ValueError(f"{name} must be within -1..1, got {getattr(self, name)!r}")
                set_field(self, name, value)


@dataclass(frozen=True)
class SpeechStartEvent(Event):
    """Voice activity began at `start_s` audio seconds."""

    type: ClassVar[str] = "speech_start"

    start_s: float

    def __post_init__(self) -> None:
        set_field(self, "start_s", rounded("start_s", self.start_s, SECONDS_DECIMALS))


@dataclass(frozen=True)
class SpeechEndEvent(Event):
    """A speech segment spanning `start_s`..`end_s` audio seconds ended."""

    type: ClassVar[str] = "speech_end"

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        check_span(self)


@dataclass(frozen=True)
class StatusEvent(Event):
    """Periodic health report of the listening pipeline.

    uptime_s: wall seconds since the pipeline started; audio_s: seconds of
    audio processed; audio_dropped_s: seconds of audio lost (overruns);
    windows_classified: count; latency_*_ms: per-window processing time in
    milliseconds over the last reporting period (None before any window);
    extra: further scalar readings (e.g. cpu temperature, sink failures).
    """

    type: ClassVar[str] = "status"

    uptime_s: float
    audio_s: float
    audio_dropped_s: float
    windows_classified: int
    latency_p50_ms: Optional[float] = None
    latency_p95_ms: Optional[float] = None
    latency_max_ms: Optional[float] = None
    extra: Mapping[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("uptime_s", "audio_s", "audio_dropped_s"):
            set_field(self, name, rounded(name, getattr(self, name), SECONDS_DECIMALS))
        for name in ("latency_p50_ms", "latency_p95_ms", "latency_max_ms"):
            value = getattr(self, name)
            if value is not None:
                set_field(self, name, rounded(name, value, MS_DECIMALS))
        set_field(self, "windows_classified", int(self.windows_classified))
        set_field(self, "extra", FrozenMap({str(k): scalar(f"extra[{k}]", v) for k, v in self.extra.items()}))


#: event type name -> class, for parsing and for sinks' type filters, in the one order of the types
EVENT_TYPES: Mapping[str, Type[Event]] = MappingProxyType(
    {cls.type: cls for cls in (EmotionEvent, SpeechStartEvent, SpeechEndEvent, StatusEvent)})
#: the event types' names, the one list (the settings' `event_types` take their defaults and check from it)
EVENT_NAMES: List[str] = list(EVENT_TYPES)


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from `Event.to_dict()` output (or parsed JSON).

    Unknown keys are ignored so that newer producers stay readable; a missing
    key or an unknown type raises ValueError naming it.
    """
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}; known: {', '.join(EVENT_TYPES)}")
    kwargs: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = data[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{kind} event lacks the field {f.name!r}")
    model = kwargs["model"]
    if not isinstance(model, Mapping) or "id" not in model or "sha256" not in model:
        raise ValueError(f"event field 'model' must be an object with id and sha256, got {model!r}")
    kwargs["model"] = ModelRef(id=str(model["id"]), sha256=str(model["sha256"]))
    return cls(**kwargs)


def event_from_json(line: str) -> Event:
    """Parse one JSON line written by `Event.to_json()`."""
    return event_from_dict(json.loads(line))

"""The events: the bottom layer that the pipeline, the sinks and the service all stand on.

What the listener says, in one JSON form: the event types and their fields (`event`), the value
rules and rounding of the fields (`fields`), the stamp of device, model, sequence number and
wall clock (`factory`) and one human line per event (`describe`). This package imports only the
standard library, so a consumer of events (a sink, a test, another program) needs nothing of
the pipeline, the model or the settings (the split rhasspy/wyoming uses).
"""

from .describe import describe_event
from .event import (
    EVENT_NAMES,
    EVENT_TYPES,
    EmotionEvent,
    Event,
    SpeechEndEvent,
    SpeechStartEvent,
    StatusEvent,
    event_from_dict,
    event_from_json,
)
from .factory import EventFactory, hostname
from .fields import FrozenMap, ModelRef, Scalar, format_time

__all__ = [
    "EVENT_NAMES", "EVENT_TYPES", "EmotionEvent", "Event", "EventFactory", "FrozenMap", "ModelRef", "Scalar",
    "SpeechEndEvent", "SpeechStartEvent", "StatusEvent", "describe_event", "event_from_dict", "event_from_json",
    "format_time", "hostname",
]

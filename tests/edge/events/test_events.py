"""Events: the one JSON form, round trips, stamping (seq, time, device, model)."""

from __future__ import annotations

import json
import re
import socket
import threading
from datetime import datetime, timezone

import pytest

from ser_edge.events import (
    EVENT_TYPES,
    EmotionEvent,
    EventFactory,
    SpeechEndEvent,
    SpeechStartEvent,
    StatusEvent,
    event_from_dict,
    event_from_json,
    format_time,
)

SCORES = {"neutral": 0.05, "calm": 0.0123456, "happy": 0.812345, "sad": 0.1253094}
ISO_MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+00:00)$")


@pytest.fixture
def factory() -> EventFactory:
    return EventFactory(model_id="crnn-v1", model_sha256="ABCDEF0123456789" * 4, device="kitchen-pi",
                        clock=lambda: 1_700_000_000.123456)


def all_kinds(factory: EventFactory) -> list:
    return [
        factory.speech_start(start_s=1.25),
        factory.emotion(label="happy", confidence=0.812345, scores=SCORES, start_s=1.25, end_s=3.2500001),
        factory.speech_end(start_s=1.25, end_s=4.0),
        factory.status(uptime_s=60.5, audio_s=59.9876, audio_dropped_s=0.0, windows_classified=29,
                       latency_p50_ms=12.3456, latency_p95_ms=20.0, extra={"cpu_temp_c": 51.2, "sinks_failed": 0}),
    ]


def test_every_type_round_trips_through_json(factory: EventFactory) -> None:
    events = all_kinds(factory)
    assert {e.type for e in events} == set(EVENT_TYPES)
    for event in events:
        line = event.to_json()
        again = event_from_json(line)
        assert again == event
        assert type(again) is type(event)
        assert again.to_json() == line


def test_json_is_one_compact_line_with_common_fields_first(factory: EventFactory) -> None:
    line = all_kinds(factory)[1].to_json()
    assert "\n" not in line and ", " not in line and ": " not in line
    data = json.loads(line)
    assert list(data)[:5] == ["type", "time", "device", "model", "seq"]
    assert data["type"] == "emotion"
    assert data["device"] == "kitchen-pi"
    assert data["model"] == {"id": "crnn-v1", "sha256": "abcdef012345"}


def test_emotion_rounds_scores_and_keeps_label_order(factory: EventFactory) -> None:
    event = all_kinds(factory)[1]
    assert list(event.scores) == list(SCORES)
    assert event.scores == {"neutral": 0.05, "calm": 0.0123, "happy": 0.8123, "sad": 0.1253}
    assert event.confidence == 0.8123
    assert (event.start_s, event.end_s) == (1.25, 3.25)
    with pytest.raises(TypeError):
        event.scores["happy"] = 1.0  # type: ignore[index]  # frozen all the way down


def test_status_units_and_defaults(factory: EventFactory) -> None:
    status = factory.status(uptime_s=1, audio_s=0.5, audio_dropped_s=0, windows_classified=0)
    data = status.to_dict()
    assert data["latency_p50_ms"] is None and data["extra"] == {}
    full = all_kinds(factory)[3]
    assert full.latency_p50_ms == 12.35 and full.audio_s == 59.988
    assert full.extra == {"cpu_temp_c": 51.2, "sinks_failed": 0}


def test_seq_is_monotonic_without_gaps_across_threads(factory: EventFactory) -> None:
    seqs: list = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            event = factory.speech_start(start_s=0.0)
            with lock:
                seqs.append(event.seq)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 801))
    assert factory.speech_start(start_s=0).seq == 801


def test_time_is_iso_utc_milliseconds_from_the_injected_clock(factory: EventFactory) -> None:
    event = factory.speech_start(start_s=0)
    assert ISO_MS_UTC.match(event.time)
    assert event.time == "2023-11-14T22:13:20.123Z"
    parsed = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0
    assert format_time(0) == "1970-01-01T00:00:00.000Z"


def test_default_device_is_the_hostname_and_clock_is_real() -> None:
    factory = EventFactory(model_id="m", model_sha256="00ff")
    event = factory.speech_start(start_s=0)
    assert event.device == socket.gethostname()
    stamp = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"confidence": 1.2}, "confidence"),
        ({"confidence": float("nan")}, "finite"),
        ({"label": "bored"}, "bored"),
        ({"scores": {"happy": float("inf")}}, "finite"),
        ({"start_s": 3.0, "end_s": 2.0}, "start_s <= end_s"),
        ({"start_s": -1.0}, "start_s"),
    ],
)
def test_emotion_refuses_bad_values(factory: EventFactory, kwargs: dict, message: str) -> None:
    args = {"label": "happy", "confidence": 0.8, "scores": SCORES, "start_s": 0.0, "end_s": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        factory.emotion(**args)


def test_bad_extra_and_bad_sha_are_refused(factory: EventFactory) -> None:
    with pytest.raises(ValueError, match="scalar"):
        factory.status(uptime_s=0, audio_s=0, audio_dropped_s=0, windows_classified=0, extra={"x": [1]})
    with pytest.raises(ValueError, match="hex"):
        EventFactory(model_id="m", model_sha256="not-a-digest")


def test_event_from_dict_names_what_is_wrong(factory: EventFactory) -> None:
    data = all_kinds(factory)[2].to_dict()
    with pytest.raises(ValueError, match="unknown event type 'wat'"):
        event_from_dict({**data, "type": "wat"})
    missing = dict(data)
    del missing["end_s"]
    with pytest.raises(ValueError, match="'end_s'"):
        event_from_dict(missing)
    with pytest.raises(ValueError, match="model"):
        event_from_dict({**data, "model": "crnn"})
    newer = event_from_dict({**data, "from_the_future": 1})  # unknown keys are tolerated
    assert isinstance(newer, SpeechEndEvent) and newer == event_from_dict(data)


def test_event_classes_are_frozen(factory: EventFactory) -> None:
    event = factory.speech_start(start_s=0)
    assert isinstance(event, SpeechStartEvent)
    with pytest.raises(AttributeError):
        event.seq = 5  # type: ignore[misc]
    assert EVENT_TYPES["emotion"] is EmotionEvent and EVENT_TYPES["status"] is StatusEvent
    # one list: the settings' event names are the event classes, in the same order
    from ser_edge.config import settings
    from ser_edge.events import EVENT_NAMES, Event

    assert list(EVENT_TYPES) == EVENT_NAMES == ["emotion", "speech_start", "speech_end", "status"]
    assert settings.EVENT_NAMES is EVENT_NAMES  # config takes the names from the events, not the other way
    assert set(EVENT_TYPES.values()) == {c for c in Event.__subclasses__() if c.__module__ == Event.__module__}

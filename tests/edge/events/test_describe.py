"""describe_event: the one human line per event (the log sink, systemd's STATUS=)."""

from __future__ import annotations

from ser_edge.events import EventFactory, describe_event


def factory() -> EventFactory:
    return EventFactory(model_id="crnn", model_sha256="ab" * 32, device="pi", clock=lambda: 0.0)


def test_each_event_type_has_its_line() -> None:
    f = factory()
    emotion = f.emotion(label="happy", confidence=0.81234, scores={"happy": 0.81234, "sad": 0.18766},
                        start_s=1.5, end_s=3.0)
    assert describe_event(emotion) == "emotion happy 0.81 (1.50-3.00 s)"
    assert describe_event(f.speech_start(start_s=0.25)) == "speech start at 0.25 s"
    assert describe_event(f.speech_end(start_s=0.25, end_s=4.125)) == "speech end (0.25-4.12 s)"
    assert describe_event(f.status(uptime_s=9, audio_s=12.34, audio_dropped_s=0.5, windows_classified=7)) == \
        "status: 12.3 s audio, 0.50 s dropped, 7 windows"
    busy = f.status(uptime_s=9, audio_s=1, audio_dropped_s=0, windows_classified=2, latency_p50_ms=3.456,
                    latency_p95_ms=7.891, latency_max_ms=9)
    assert describe_event(busy) == \
        "status: 1.0 s audio, 0.00 s dropped, 2 windows, window latency p50 3.46 ms p95 7.89 ms"


"""The listening pipeline fed with real clips and synthetic signals, in audio time (no sleeping)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.config.settings import GateSettings, SmoothingSettings
from ser_edge.errors import AudioError, ConfigError
from ser_edge.events import EmotionEvent, Event, EventFactory, SpeechEndEvent, SpeechStartEvent, StatusEvent
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.recognizer import Recognizer
from ser_edge.model.classifier import Classifier

RATE = 16000
ANGRY = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"
NEUTRAL = "ravdess/Actor_01/03-01-01-01-01-01-01.flac"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Recognizer().classifier


def fake_clock(step_s: float = 0.001):
    """A monotonic clock that advances ``step_s`` per reading: every window 'takes' 1 ms."""
    counter = itertools.count()
    return lambda: next(counter) * step_s


def make(classifier: Classifier, **kwargs) -> Pipeline:
    factory = EventFactory(model_id="test", model_sha256="ab" * 32, device="test", clock=lambda: 1.7e9)
    return Pipeline(classifier, events=factory, clock=fake_clock(), **kwargs)


def run(pipeline: Pipeline, x: np.ndarray, block: int = 1000) -> list[Event]:
    events = []
    for i in range(0, len(x), block):
        events += pipeline.push(x[i: i + block])
    return events + pipeline.finish()


def of(events: Iterable[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def moment(event: Event) -> float:
    """The audio time at which an event can be known."""
    if isinstance(event, SpeechStartEvent):
        return event.start_s
    if isinstance(event, StatusEvent):
        return event.audio_s
    return event.end_s  # type: ignore[attr-defined]


def noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    """White noise whose mean square is ``dbfs`` (0 dBFS = mean square 1), float32."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 10 ** (dbfs / 20)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


@pytest.fixture(scope="module")
def speech_mix(data_dir: Path) -> tuple[np.ndarray, dict]:
    """1 s silence, angry clip, 3 s silence, neutral clip, 3 s of -30 dBFS noise; and where each part is (s)."""
    angry, neutral = load_audio(data_dir / ANGRY), load_audio(data_dir / NEUTRAL)
    parts = [("lead", silence(1.0)), ("angry", angry), ("silence", silence(3.0)), ("neutral", neutral),
             ("noise", noise(3.0, -30.0))]
    spans, t = {}, 0.0
    for name, part in parts:
        spans[name] = (t, t + len(part) / RATE)
        t += len(part) / RATE
    return np.concatenate([p for _, p in parts]).astype(np.float32), spans


def test_silence_gives_no_speech_and_no_emotion(classifier: Classifier) -> None:
    events = run(make(classifier, status_interval_s=0), silence(10.0))
    assert [e.type for e in events] == ["status"]
    assert events[0].audio_s == 10.0 and events[0].windows_classified == 0


@pytest.mark.parametrize("signal", ["white -30 dBFS", "white -10 dBFS", "hum 50 Hz", "step into noise"])
def test_steady_noise_never_gives_an_emotion(classifier: Classifier, signal: str) -> None:
    t = np.arange(20 * RATE) / RATE
    x = {
        "white -30 dBFS": noise(20.0, -30.0),
        "white -10 dBFS": noise(20.0, -10.0, seed=1),
        "hum 50 Hz": (0.1 * np.sin(2 * np.pi * 50 * t) + 0.05 * np.sin(2 * np.pi * 150 * t)
                      + noise(20.0, -50.0)).astype(np.float32),
        # quiet, then a fan switched on: the gate may open briefly, the smoother must not decide
        "step into noise": np.concatenate([silence(3.0), noise(17.0, -25.0, seed=2)]),
    }[signal]
    events = run(make(classifier), x)
    assert of(events, EmotionEvent) == []


def test_speech_start_and_end_frame_each_utterance(classifier: Classifier, speech_mix) -> None:
    x, spans = speech_mix
    events = run(make(classifier), x)
    starts, ends = of(events, SpeechStartEvent), of(events, SpeechEndEvent)
    assert len(starts) == len(ends) >= 2
    for name in ("angry", "neutral"):
        lo, hi = spans[name]
        # RAVDESS clips open and close with ~0.5-1 s of room tone: speech lies inside the clip
        assert any(lo <= s.start_s <= hi and e.end_s <= hi + 0.5 for s, e in zip(starts, ends)), name


def test_emotions_come_only_inside_speech_and_never_from_silence_or_noise(classifier: Classifier, speech_mix) -> None:
    x, spans = speech_mix
    events = run(make(classifier), x)
    emotions = of(events, EmotionEvent)
    assert emotions, "the angry and neutral clips should give at least one decision"
    open_speech = False
    for event in events:  # every emotion is emitted between a speech_start and its speech_end
        if isinstance(event, SpeechStartEvent):
            open_speech = True
        elif isinstance(event, SpeechEndEvent):
            open_speech = False
        elif isinstance(event, EmotionEvent):
            assert open_speech, event
    for e in emotions:
        for part in ("lead", "silence", "noise"):
            lo, hi = spans[part]
            assert not (lo <= e.start_s and e.end_s <= hi), f"emotion {e.label} {e.start_s}-{e.end_s} inside {part}"
    angry = [e for e in emotions if spans["angry"][0] <= e.start_s < spans["angry"][1]]
    assert angry and angry[0].label == "angry" and set(angry[0].scores) == set(classifier.labels)


def test_events_are_in_time_order_with_sane_times(classifier: Classifier, speech_mix) -> None:
    x, _ = speech_mix
    events = run(make(classifier, status_interval_s=2.0), x)
    moments = [moment(e) for e in events]
    assert moments == sorted(moments)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    duration = len(x) / RATE
    for e in events:
        start = getattr(e, "start_s", 0.0)
        assert 0.0 <= start <= moment(e) <= duration + 1e-3


def strip(event: Event) -> dict:
    """What must not depend on block sizes: everything but wall-clock time and timing readings."""
    data = event.to_dict()
    data.pop("time")
    if data["type"] == "status":
        return {k: data[k] for k in ("type", "seq", "audio_s", "windows_classified", "audio_dropped_s")}
    return data


def test_events_do_not_depend_on_block_size(classifier: Classifier, speech_mix) -> None:
    x, _ = speech_mix
    runs = [[strip(e) for e in run(make(classifier, status_interval_s=3.0), x, block)] for block in (160, 1000, 4096)]
    assert runs[0] == runs[1] == runs[2]
    assert any(e["type"] == "emotion" for e in runs[0])
    ragged = make(classifier, status_interval_s=3.0)  # irregular blocks, some empty
    sizes = itertools.cycle([0, 1, 7, 333, 160, 4095, 2])
    events, i = [], 0
    while i < len(x):
        n = next(sizes)
        events += ragged.push(x[i: i + n])
        i += n
    assert [strip(e) for e in events + ragged.finish()] == runs[0]


def test_status_events_report_audio_drops_windows_and_latency(classifier: Classifier, speech_mix) -> None:
    x, _ = speech_mix
    pipeline = make(classifier, status_interval_s=2.0, status_extra=lambda: {"source": "test"})
    events = pipeline.push(x[:RATE], dropped=800)  # 50 ms lost before this block
    events += run(pipeline, x[RATE:])
    statuses = of(events, StatusEvent)
    periodic, final = statuses[:-1], statuses[-1]
    assert [s.audio_s for s in periodic] == [2.0 * (i + 1) for i in range(len(periodic))]
    assert final.audio_s == round(len(x) / RATE, 3)
    assert all(s.audio_dropped_s == 0.05 for s in statuses)
    counts = [s.windows_classified for s in statuses]
    assert counts == sorted(counts) and counts[-1] == pipeline.windows_classified > 0
    timed = [s for s in statuses if s.latency_p50_ms is not None]
    assert timed and all(s.latency_p50_ms == s.latency_p95_ms == 1.0 for s in timed)  # the fake clock's 1 ms
    assert final.extra["source"] == "test" and final.extra["speaking"] is False and final.uptime_s > 0


def test_thresholds_from_settings_gate_the_decisions(classifier: Classifier, speech_mix) -> None:
    x, _ = speech_mix
    strict = SmoothingSettings(thresholds={label: 1.0 for label in classifier.labels})
    events = run(make(classifier, smoothing=strict), x)
    assert of(events, EmotionEvent) == [] and of(events, SpeechStartEvent)
    with pytest.raises(ConfigError, match="'furious'"):
        make(classifier, smoothing=SmoothingSettings(thresholds={"furious": 0.6}))


def test_a_stricter_gate_hears_less(classifier: Classifier, speech_mix) -> None:
    x, _ = speech_mix
    deaf = run(make(classifier, gate=GateSettings(min_level_db=-5.0)), x)
    assert [e.type for e in deaf] == ["status"]


def test_speech_open_at_the_end_is_closed_by_finish(classifier: Classifier, data_dir: Path) -> None:
    angry = load_audio(data_dir / ANGRY)
    x = np.concatenate([silence(0.5), angry[: int(1.8 * RATE)]])  # cut off mid-sentence
    events = run(make(classifier), x)
    end = of(events, SpeechEndEvent)[-1]
    assert end.end_s == round(len(x) / RATE, 3) and events[-1].type == "status"


def test_start_sample_continues_the_audio_clock(classifier: Classifier, speech_mix) -> None:
    x, _ = speech_mix
    plain = run(make(classifier), x)
    later = run(make(classifier, start_sample=10 * RATE), x)
    assert [round(moment(e) + 10.0, 3) for e in plain] == [moment(e) for e in later]


def test_bad_input_is_refused(classifier: Classifier) -> None:
    pipeline = make(classifier)
    with pytest.raises(AudioError, match="float"):
        pipeline.push(np.zeros(160, np.int16))
    with pytest.raises(AudioError, match="mono"):
        pipeline.push(np.zeros((160, 2), np.float32))
    pipeline.finish()
    with pytest.raises(RuntimeError):
        pipeline.push(np.zeros(160, np.float32))
    assert pipeline.finish() == []


def test_latency_percentiles_are_numpys_to_the_last_bit():
    """Status latencies use `percentile` (numpy.ma stays unimported): exactly np.percentile."""
    from ser_edge.listen.readings import percentile

    rng = np.random.default_rng(7)
    for n in [*range(1, 40), 100, 1001]:
        for x in (rng.exponential(3.0, n), np.round(rng.normal(5.0, 2.0, n), 1), np.full(n, 2.5)):
            for q in (0, 1, 5, 50, 90, 95, 99, 100, float(rng.uniform(0, 100))):
                assert percentile(x, q) == float(np.percentile(x, q)), (n, q)

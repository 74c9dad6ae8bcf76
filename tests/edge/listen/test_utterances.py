"""Whole-utterance decisions on real speech: the listener's events of scope "utterance", the file
scorer's utterances, `classify` results, and the scopes a bundle allows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.config.settings import SmoothingSettings
from ser_edge.errors import ConfigError
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.recognizer import Recognizer
from ser_edge.listen.utterances import decision_scopes
from ser_edge.model.bundle import load_bundle

CLIPS = ("03-01-05-01-01-01-05.flac", "03-01-04-01-02-01-05.flac", "03-01-01-01-01-01-05.flac")
#: every label's threshold at 0: each decision becomes an event
EVERY = SmoothingSettings(threshold=0.0, min_duration_s=0.0, hold_s=0.0)


@pytest.fixture(scope="module")
def three_utterances(data_dir: Path) -> np.ndarray:
    """Three RAVDESS clips of actor 05 with 1.5 s of silence after each: (n,) float32 at 16 kHz."""
    gap = np.zeros(24000, dtype=np.float32)
    parts = []
    for name in CLIPS:
        parts += [load_audio(data_dir / "ravdess" / "Actor_05" / name), gap]
    return np.concatenate(parts)


def events_of(bundle, audio: np.ndarray, block: int, **kwargs) -> list:
    pipeline = Pipeline(load_bundle(bundle), smoothing=EVERY, status_interval_s=0, **kwargs)
    out = []
    for i in range(0, audio.size, block):
        out += pipeline.push(audio[i: i + block])
    return out + pipeline.finish()


def emotions(events, scope: str) -> list:
    return [e for e in events if e.type == "emotion" and e.scope == scope]


def test_each_stretch_of_speech_is_decided_at_its_end(tiny_fusion_bundle, three_utterances):
    events = events_of(tiny_fusion_bundle, three_utterances, 1600)
    utterances, ends = emotions(events, "utterance"), [e for e in events if e.type == "speech_end"]
    assert emotions(events, "window") == []  # auto on a bundle with a head: utterances only
    assert len(ends) == 3 and len(utterances) == 3  # each clip is 3 s or more, one decision at its end
    for event, end in zip(utterances, ends):
        assert event.end_s <= end.end_s + 0.05 and event.start_s >= end.start_s - 0.05
        assert abs(sum(event.scores.values()) - 1.0) < 1e-4 and event.label == max(event.scores, key=event.scores.get)
        assert events.index(event) == events.index(end) - 1  # decided before the speech_end it belongs to


def test_utterance_events_do_not_depend_on_block_size(tiny_fusion_bundle, three_utterances):
    a = emotions(events_of(tiny_fusion_bundle, three_utterances, 160), "utterance")
    b = emotions(events_of(tiny_fusion_bundle, three_utterances, 16000), "utterance")
    assert [(e.label, e.start_s, e.end_s) for e in a] == [(e.label, e.start_s, e.end_s) for e in b]
    for x, y in zip(a, b):
        assert x.scores == pytest.approx(y.scores, abs=1e-6)


def test_long_speech_gets_rolling_decisions(tiny_fusion_bundle, data_dir):
    clip = load_audio(data_dir / "ravdess" / "Actor_05" / CLIPS[0])
    speech = np.concatenate([clip[4000:-4000]] * 4)  # about 10 s with no pause the gate closes on
    events = events_of(tiny_fusion_bundle, speech, 1600)
    utterances = emotions(events, "utterance")
    head = load_bundle(tiny_fusion_bundle).utterance
    assert len(utterances) >= 3  # rolling every every_s, and the last at the end
    assert all(e.end_s - e.start_s <= head.max_s + 0.1 for e in utterances)


def test_scope_both_and_window(tiny_fusion_bundle, three_utterances):
    both = events_of(tiny_fusion_bundle, three_utterances, 1600, scope="both")
    assert emotions(both, "utterance") and emotions(both, "window")
    window = events_of(tiny_fusion_bundle, three_utterances, 1600, scope="window")
    assert emotions(window, "window") and not emotions(window, "utterance")
    assert [e.to_dict()["scope"] for e in emotions(both, "utterance")][0] == "utterance"


def test_thresholds_hold_for_utterances(tiny_fusion_bundle, three_utterances):
    strict = SmoothingSettings(threshold=1.0)
    pipeline = Pipeline(load_bundle(tiny_fusion_bundle), smoothing=strict, status_interval_s=0)
    events = pipeline.push(three_utterances) + pipeline.finish()
    assert emotions(events, "utterance") == [] and len([e for e in events if e.type == "speech_end"]) == 3


def test_segment_statistics_learn_on_the_adapter(tiny_fusion_bundle, three_utterances):
    bundle = load_bundle(tiny_fusion_bundle)
    pipeline = Pipeline(bundle, smoothing=EVERY, status_interval_s=0)
    pipeline.push(three_utterances)
    pipeline.finish()
    segments = pipeline.adapter.segments
    assert segments is not None and segments.segments == 3
    assert not np.allclose(segments.mean, bundle.utterance.prior_mean)
    pipeline.adapter.reset()
    assert pipeline.adapter.segments is None


def test_classify_reports_utterances(tiny_fusion_bundle, three_utterances, data_dir):
    recognizer = Recognizer(tiny_fusion_bundle)
    result = recognizer.classify_array(three_utterances, 16000)
    assert result.scope == "utterance" and len(result.utterances) == 3
    starts = [u.start_s for u in result.utterances]
    assert starts == sorted(starts) and all(u.end_s > u.start_s for u in result.utterances)
    assert abs(sum(result.scores.values()) - 1.0) < 1e-4
    out = result.to_dict()
    assert out["scope"] == "utterance" and len(out["utterances"]) == 3
    window = recognizer.classify_array(three_utterances, 16000, scope="window")
    assert window.scope == "window" and window.utterances == ()
    one = recognizer.classify_file(data_dir / "ravdess" / "Actor_05" / CLIPS[0])
    assert one.scope == "utterance" and len(one.utterances) == 1
    assert one.scores == pytest.approx(one.utterances[0].scores, abs=1e-6)  # one utterance: the file's decision


def test_a_clip_too_short_for_an_utterance_falls_back_to_windows(tiny_fusion_bundle, data_dir):
    clip = load_audio(data_dir / "ravdess" / "Actor_05" / CLIPS[0])
    voiced = np.flatnonzero(np.abs(clip) > 0.01)
    short = clip[voiced[0]: voiced[0] + 14000]  # under a window's 1.5 s and the head's 1 s of speech
    result = Recognizer(tiny_fusion_bundle).classify_array(short, 16000)
    assert result.scope == "window" and result.utterances == ()


def test_scopes_a_bundle_allows(tiny_bundle, tiny_fusion_bundle):
    plain, fusion = load_bundle(tiny_bundle), load_bundle(tiny_fusion_bundle)
    assert decision_scopes("auto", plain) == ("window",)
    assert decision_scopes("auto", fusion) == ("utterance",)
    assert decision_scopes("both", fusion) == ("window", "utterance")
    with pytest.raises(ConfigError, match="needs a bundle with an utterance head"):
        decision_scopes("utterance", plain)
    with pytest.raises(ConfigError, match="allowed: auto, window, utterance, both"):
        decision_scopes("sentence", fusion)
    with pytest.raises(ConfigError, match="utterance head"):
        Recognizer(tiny_bundle).classify_array(np.zeros(16000, np.float32), 16000, scope="utterance")


def test_an_utterance_ending_where_a_rolling_decision_ended_is_one_event(tiny_fusion_bundle, data_dir):
    """A rolling decision made at the very hop the gate then closes at covers the same span as the
    final one: the final is not emitted again, but its statistics are still learnt."""
    from ser_edge.frontend.prosody import ProsodyExtractor
    from ser_edge.listen.frames import FrameBuffer
    from ser_edge.listen.utterances import PROSODY, UtteranceDecider

    bundle = load_bundle(tiny_fusion_bundle)
    params = bundle.params
    buffer = FrameBuffer(params, tracks={PROSODY: ProsodyExtractor(params).stream()})
    buffer.push(load_audio(data_dir / "ravdess" / "Actor_05" / CLIPS[0]))
    end = buffer.ready
    decider = UtteranceDecider(bundle.utterance, params)
    decider.begin(0)
    decider.add(end - 1, np.full(len(bundle.labels), 1 / len(bundle.labels), np.float32))
    rolling = decider.decide(buffer, end, final=False)
    assert rolling is not None and not rolling.final
    assert decider.decide(buffer, end, final=True) is None and not decider.open
    assert decider.stats.segments == 1

"""Smoother on hand-made score sequences (1.5 s windows every 0.5 s, as the default FeatureParams)."""

from __future__ import annotations

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_edge.listen.smoothing import Decision, Smoother

LABELS = ("neutral", "happy", "sad", "angry")
WINDOW_S, HOP_S = 1.5, 0.5


def onehot(label: str, p: float = 0.9) -> np.ndarray:
    """Scores with ``p`` on ``label`` and the rest spread evenly, shape (4,), float32."""
    v = np.full(len(LABELS), (1.0 - p) / (len(LABELS) - 1), np.float32)
    v[LABELS.index(label)] = p
    return v


def feed(smoother: Smoother, seq: list[np.ndarray], first: int = 0) -> list[tuple[int, Decision]]:
    """Feed windows ``first``, ``first+1``, ...; return (window index, decision) for each emitted."""
    out = []
    for i, scores in enumerate(seq, start=first):
        d = smoother.update(scores, i * HOP_S, i * HOP_S + WINDOW_S)
        if d is not None:
            out.append((i, d))
    return out


def test_one_noisy_window_alone_never_emits() -> None:
    s = Smoother(labels=LABELS)
    assert feed(s, [onehot("neutral", 0.4)] * 2 + [onehot("angry", 0.99)] + [onehot("neutral", 0.4)] * 2) == []
    # nor as the first window of an utterance, though it is longer than min_duration_s
    s.reset()
    assert feed(s, [onehot("angry", 0.99)], first=10) == []
    s.reset()
    assert feed(s, [onehot("angry", 0.99)], first=20) == []


def test_a_steady_stretch_emits_once_with_sane_times() -> None:
    s = Smoother(labels=LABELS)
    out = feed(s, [onehot("sad", 0.8)] * 12)
    assert len(out) == 1
    index, d = out[0]
    assert index == 1  # the second window: two windows of support, 2.0 s >= 1.0 s
    assert d.label == "sad"
    assert d.confidence == pytest.approx(0.8)
    assert d.start_s == 0.5 and d.end_s == 2.0  # candidate from window 1 (window 0 alone cannot be)
    assert d.end_s - d.start_s >= s.min_duration_s
    assert set(d.scores) == set(LABELS) and sum(d.scores.values()) == pytest.approx(1.0)
    assert d.to_dict()["label"] == "sad"


def test_min_duration_counts_audio_time() -> None:
    # short windows (0.2 s every 0.2 s): the stretch must last 1.0 s, i.e. five windows
    s = Smoother(labels=LABELS, min_duration_s=1.0)
    decisions = []
    for i in range(10):
        d = s.update(onehot("happy"), 0.2 * i, 0.2 * i + 0.2)
        decisions.append(d)
    emitted = [i for i, d in enumerate(decisions) if d is not None]
    assert emitted == [5]  # candidate from window 1 (0.2 s) to the end of window 5 (1.2 s)
    assert decisions[5].start_s == pytest.approx(0.2) and decisions[5].end_s == pytest.approx(1.2)


def test_hold_suppresses_repeats_of_the_same_label() -> None:
    s = Smoother(labels=LABELS, hold_s=5.0)
    angry, gap = [onehot("angry")] * 4, [onehot("neutral", 0.3)] * 3  # 0.3 < threshold: no candidate
    out = feed(s, angry + gap + angry)
    # the second stretch qualifies at window 8 (5.5 s), within the hold: not emitted
    assert [(i, d.label, d.end_s) for i, d in out] == [(1, "angry", 2.0)]
    # ... but emitted when the hold ends, if it still stands
    out = feed(s, [onehot("angry")] * 6, first=11)
    assert [(i, d.label, d.end_s) for i, d in out] == [(11, "angry", 7.0)]


def test_same_label_after_the_hold_is_emitted_again() -> None:
    s = Smoother(labels=LABELS, hold_s=3.0)
    first = feed(s, [onehot("angry")] * 3)
    s.reset()
    second = feed(s, [onehot("angry")] * 3, first=20)  # 10 s later
    assert len(first) == 1 and len(second) == 1
    assert second[0][1].start_s == 10.5


def test_a_label_change_emits_even_within_the_hold() -> None:
    s = Smoother(labels=LABELS, hold_s=30.0)
    out = feed(s, [onehot("happy")] * 5 + [onehot("angry")] * 6 + [onehot("happy")] * 6)
    assert [d.label for _, d in out] == ["happy", "angry", "happy"]  # a different label between
    assert out[1][1].start_s > out[0][1].end_s - WINDOW_S


def test_per_class_thresholds() -> None:
    scores = [onehot("angry", 0.6)] * 6
    assert feed(Smoother(labels=LABELS, thresholds={"angry": 0.7}), scores) == []
    out = feed(Smoother(labels=LABELS, thresholds={"angry": 0.55, "neutral": 0.9}), scores)
    assert [d.label for _, d in out] == ["angry"]
    s = Smoother(labels=LABELS, thresholds={"sad": 0.2})
    assert s.thresholds == {"neutral": 0.5, "happy": 0.5, "sad": 0.2, "angry": 0.5}
    assert feed(Smoother(labels=LABELS, thresholds=0.65), scores) == []


def test_reset_clears_stale_scores() -> None:
    s = Smoother(labels=LABELS)
    feed(s, [onehot("neutral", 0.3), onehot("sad", 0.95)])  # nothing emitted: sad had one window
    s.reset()
    # without reset, the stale sad window would make sad the candidate here and emit it
    out = feed(s, [onehot("happy", 0.45), onehot("sad", 0.45)], first=10)
    assert out == []
    ref = Smoother(labels=LABELS)
    feed(ref, [onehot("neutral", 0.3), onehot("sad", 0.95)])
    assert [d.label for _, d in feed(ref, [onehot("happy", 0.45), onehot("sad", 0.45)], first=10)] == ["sad"]


def test_average_windows_one_follows_each_window() -> None:
    s = Smoother(labels=LABELS, average_windows=1, min_duration_s=0.0, hold_s=0.0)
    out = feed(s, [onehot("happy"), onehot("sad"), onehot("sad")])
    assert [(i, d.label) for i, d in out] == [(0, "happy"), (1, "sad")]


def test_audio_time_going_back_starts_afresh() -> None:
    s = Smoother(labels=LABELS, hold_s=100.0)
    assert len(feed(s, [onehot("angry")] * 3, first=50)) == 1
    assert len(feed(s, [onehot("angry")] * 3, first=0)) == 1  # a new stream: no hold from the old one


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": []}, "labels"),
        ({"labels": "angry"}, "labels"),
        ({"labels": ["a", "a"]}, "labels"),
        ({"average_windows": 0}, "average_windows"),
        ({"thresholds": 1.5}, r"thresholds=1\.5.*\[0, 1\]"),
        ({"thresholds": {"furious": 0.5}}, "unknown label.*'furious'.*allowed: neutral, happy, sad, angry"),
        ({"thresholds": {"angry": -0.1}}, r"thresholds\['angry'\].*\[0, 1\]"),
        ({"min_duration_s": -1.0}, "min_duration_s"),
        ({"hold_s": float("inf")}, "hold_s"),
    ],
)
def test_bad_settings_raise_config_error(kwargs: dict, match: str) -> None:
    kwargs = {"labels": LABELS, **kwargs}
    with pytest.raises(ConfigError, match=match):
        Smoother(**kwargs)


def test_bad_updates_raise_value_error() -> None:
    s = Smoother(labels=LABELS)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        s.update(np.zeros(3), 0.0, 1.5)
    with pytest.raises(ValueError, match="finite"):
        s.update(np.array([np.nan, 0, 0, 1.0]), 0.0, 1.5)
    with pytest.raises(ValueError, match="start_s <= end_s"):
        s.update(onehot("sad"), 2.0, 1.0)

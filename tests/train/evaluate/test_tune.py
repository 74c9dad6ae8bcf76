"""Threshold tuning: the smoother replayed on recorded windows, and the choice it makes."""

from __future__ import annotations

import dataclasses

import numpy as np

from ser_edge.config.settings import SmoothingSettings
from ser_train.evaluate.tune import GRID, Recording, figures, replay, tune

LABELS = ("neutral", "happy", "angry")


def _steady(label_scores: list[list[float]], hop: float = 0.5, start: float = 0.0) -> tuple:
    n = len(label_scores)
    starts = start + hop * np.arange(n)
    return np.array(label_scores, np.float32), starts, starts + 1.5


def _recording(spans_scores: list[tuple[str, list[float], int]]) -> Recording:
    """One window stream: for each (label, scores, windows) span, that many identical windows,
    a speech end after each span."""
    scores, starts, ends, resets, spans, t = [], [], [], [], [], 0.0
    for label, s, n in spans_scores:
        sc, st, en = _steady([s] * n, start=t)
        scores.append(sc), starts.append(st), ends.append(en)
        spans.append((label, t, float(en[-1])))
        t = float(en[-1]) + 2.0
        resets.append(float(en[-1]) + 0.5)
    return Recording(np.concatenate(scores), np.concatenate(starts), np.concatenate(ends), np.array(resets), spans, t)


def test_replay_resets_the_smoother_at_each_speech_end() -> None:
    # two utterances of the same label; the reset between them ends the first stretch, so
    # without a hold the label is decided once in each
    rec = _recording([("happy", [0.1, 0.8, 0.1], 4), ("happy", [0.1, 0.8, 0.1], 4)])
    decisions = replay(rec, LABELS, SmoothingSettings(hold_s=0.0))
    assert [label for label, _ in decisions] == ["happy", "happy"]
    no_reset = dataclasses.replace(rec, resets=np.zeros(0))
    assert len(replay(no_reset, LABELS, SmoothingSettings(hold_s=0.0))) == 1  # one unbroken stretch: once


def test_figures_count_false_events_on_neutral_and_hits_on_emotions() -> None:
    rec = _recording([("neutral", [0.3, 0.6, 0.1], 10), ("angry", [0.1, 0.1, 0.8], 6), ("happy", [0.6, 0.3, 0.1], 6)])
    f = figures([rec], [], LABELS, SmoothingSettings())
    assert f["false_per_min_by_label"]["happy"] > 0 and f["false_per_min_by_label"]["angry"] == 0
    assert f["detection"] == {"happy": 0.0, "angry": 1.0}
    assert f["neutral_minutes"] > 0


def test_tune_raises_a_threshold_until_neutral_speech_stays_quiet() -> None:
    # neutral speech that looks happy at 0.6; real happy speech at 0.9
    rec = _recording([("neutral", [0.35, 0.6, 0.05], 20), ("happy", [0.05, 0.9, 0.05], 8), ("angry", [0.1, 0.1, 0.8], 8)])
    result = tune([rec], [], LABELS, max_false_per_min=0.5)
    assert 0.6 < result["thresholds"]["happy"] <= 0.9
    assert result["thresholds"]["angry"] == GRID[0]  # never raised by neutral speech: the default stays
    assert result["tuned"]["false_per_min"] == 0 and result["default"]["false_per_min"] > 0
    assert result["tuned"]["detection"]["happy"] == 1.0

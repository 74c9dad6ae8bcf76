"""Per-clip statistics of the device's frame features: what each number is, on hand-made tracks."""

from __future__ import annotations

import numpy as np
import pytest

from ser_edge.frontend.functionals import (
    PROSODY_NAMES,
    _peaks,
    clip_vector,
    mfcc_functionals,
    prosody_functionals,
    speaker_zscore,
)


def test_mfcc_statistics_are_taken_over_the_voiced_hops():
    frames = np.zeros((6, 2), np.float32)
    frames[[1, 2, 4], 0] = [1.0, 3.0, 5.0]  # voiced rows
    speech = np.array([0, 1, 1, 0, 1, 0, 1, 1], bool)  # flags may run longer than the frames
    v = mfcc_functionals(frames, speech)
    assert v.shape == (6,) and v.dtype == np.float64
    assert v[0] == pytest.approx(3.0) and v[2] == pytest.approx(np.std([1, 3, 5]))
    assert v[4] == pytest.approx(0.0)  # deltas 2, 2: no spread


def test_too_few_voiced_hops_use_every_frame():
    frames = np.arange(8, dtype=np.float32).reshape(4, 2)
    v = mfcc_functionals(frames, np.zeros(4, bool))
    assert v[:2] == pytest.approx(frames.mean(axis=0))


def test_prosody_statistics_of_a_rising_voiced_tone():
    n, hop_s = 100, 0.01
    f0 = np.log(np.linspace(100, 200, n))
    voicing = np.r_[np.zeros(20, bool), np.ones(80, bool)]
    energy = np.full(n, -4.0)
    v = dict(zip(PROSODY_NAMES, prosody_functionals(f0, voicing, energy, np.full(n, 1000.0), np.full(n, 0.1),
                                                     np.full(n, 0.05), hop_s)))
    assert len(v) == 18
    assert v["voiced_fraction"] == pytest.approx(0.8)
    assert v["f0_slope"] == pytest.approx((np.log(200) - np.log(120)) / 0.79, rel=0.05)  # log Hz per second
    assert v["f0_p90"] > v["f0_p50"] > v["f0_p10"] and v["f0_range"] == pytest.approx(v["f0_p90"] - v["f0_p10"])
    assert v["energy_sd"] == 0.0 and v["energy_peaks_per_s"] == 0.0 and v["centroid_mean"] == 1000.0


def test_unvoiced_clips_have_zero_pitch_statistics():
    v = prosody_functionals(np.zeros(50), np.zeros(50, bool), np.zeros(50), np.zeros(50), np.zeros(50),
                            np.zeros(50), 0.01)
    assert np.all(v[:8] == 0.0) and np.isfinite(v).all()


def test_energy_peaks_count_syllable_like_bumps():
    bump = np.r_[np.full(5, -8.0), np.full(5, -3.0)]
    assert _peaks(np.tile(bump, 4)) == 4
    assert _peaks(np.full(40, -3.0)) == 0
    assert _peaks(np.tile(np.r_[np.full(5, -3.2), np.full(5, -3.0)], 4)) == 0  # 0.2: too small to count


def test_speaker_zscore_all_rows_or_the_others():
    x = np.array([[1.0], [2.0], [3.0], [10.0], [20.0], [30.0]])
    speakers = ["a", "a", "a", "b", "b", "b"]
    out = speaker_zscore(x, speakers, [False] * 6)
    assert out[:3, 0] == pytest.approx((x[:3, 0] - 2.0) / np.std([1, 2, 3]))
    loo = speaker_zscore(x, speakers, [False, False, False, True, True, True])
    # row 3 against rows 4-5 alone: mean 25, sd 5
    assert loo[3, 0] == pytest.approx((10 - 25) / 5) and loo[0, 0] == out[0, 0]
    assert speaker_zscore(np.array([[4.0]]), ["c"], [True])[0, 0] == 4.0  # one row: kept as it is


def test_a_clip_vector_appends_prosody_when_it_is_given():
    frames, speech = np.ones((10, 3), np.float32), np.ones(10, bool)
    assert clip_vector(frames, speech, None, 0.01).shape == (9,)
    from ser_edge.frontend.prosody import PROSODY_COLUMNS

    tracks = {k: np.zeros(10) for k in PROSODY_COLUMNS}
    assert clip_vector(frames, speech, tracks, 0.01).shape == (9 + len(PROSODY_NAMES),)

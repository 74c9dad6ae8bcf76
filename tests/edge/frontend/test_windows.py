"""Choice of a clip's classification windows: voiced ones, else the first most voiced one."""

from __future__ import annotations

import numpy as np

from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.windows import clip_windows, cut_windows, window_starts

P = FeatureParams()
W, H = P.window_frames, P.window_hop_frames


def frames(n: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, P.n_mfcc)).astype(np.float32)


def test_voiced_windows_are_kept_and_unvoiced_dropped():
    x = frames(W + 4 * H)  # 5 windows
    flags = np.zeros(x.shape[0], bool)
    flags[2 * H: 2 * H + W] = True  # window 2 fully voiced; its neighbours partly
    windows, fractions = clip_windows(x, flags, P)
    expected = [i for i, s in enumerate(window_starts(x.shape[0], P)) if flags[s: s + W].mean() >= 0.5]
    assert len(windows) == len(expected) and 2 in expected and 0 not in expected
    np.testing.assert_array_equal(windows, cut_windows(x, flags, window_starts(x.shape[0], P)[expected], P)[0])
    assert fractions.max() == 1.0


def test_without_a_voiced_window_the_first_of_the_most_voiced_is_used():
    x = frames(W + 4 * H)
    flags = np.zeros(x.shape[0], bool)
    flags[W: 3 * H] = True  # frames after window 0's end and before window 3's start: in windows 1 and 2 only
    assert W < 3 * H < W + H
    windows, fractions = clip_windows(x, flags, P)
    assert fractions.tolist() == [(3 * H - W) / W]
    np.testing.assert_array_equal(windows[0], cut_windows(x, flags, [H], P)[0][0])  # window 1, not 2


def test_a_clip_shorter_than_a_window_repeats_to_fill_it():
    x = frames(W // 3)
    windows, fractions = clip_windows(x, np.ones(x.shape[0], bool), P)
    assert windows.shape == (1, W, P.n_mfcc) and fractions.tolist() == [1.0]

"""Classification windows: the model's input, cut from MFCC frames the same way everywhere.

Training, evaluation and the device all go through these functions, so that the
normalisation and the choice of windows cannot drift apart. Window normalisation uses
only the window itself (no corpus statistics), which keeps it valid for
microphones and rooms the model has never heard; speaker normalisation
(``speaker_cmvn``) uses the speaker's statistics as the device learns them, given as
a `ser_edge.frontend.normalise.Norm`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .normalise import Norm
from .params import FeatureParams

#: variance floor for per-window CMVN, in squared cepstral units (avoids /0 on silence)
CMVN_VAR_FLOOR = 1e-2


def normalise_window(window: np.ndarray, params: FeatureParams, norm: Optional[Norm] = None) -> np.ndarray:
    """Normalisation of (frames, n_mfcc) or (n, frames, n_mfcc) MFCCs; float32.
    ``norm``: the speaker's statistics, required by (and only used for) ``speaker_cmvn``."""
    if params.normalisation == "speaker_cmvn":
        if norm is None:
            raise ValueError("speaker_cmvn needs the speaker's statistics (norm=...)")
        return norm.apply(window)
    x = np.asarray(window, dtype=np.float32)
    if params.normalisation == "none":
        return x.copy()
    centred = x - x.mean(axis=-2, keepdims=True)
    if params.normalisation == "window_mean":
        return centred
    return centred / np.sqrt(np.maximum(centred.var(axis=-2, keepdims=True), CMVN_VAR_FLOOR))


def window_starts(n_frames: int, params: FeatureParams) -> np.ndarray:
    """Start frames of every whole window in ``n_frames`` frames, int64, hop = window_hop_frames."""
    if n_frames < params.window_frames:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_frames - params.window_frames + 1, params.window_hop_frames, dtype=np.int64)


def fit_to_window(frames: np.ndarray, params: FeatureParams) -> np.ndarray:
    """A clip shorter than one window, (n, n_mfcc) with n >= 1, repeated to (window_frames, n_mfcc).

    Repeating the speech (rather than padding with silence) keeps the window's
    statistics those of the speech, which is what per-window CMVN expects.
    """
    reps = -(-params.window_frames // frames.shape[0])
    return np.tile(frames, (reps, 1))[: params.window_frames]


def voiced_fraction(speech_flags: np.ndarray, start: int, params: FeatureParams) -> float:
    """Share of speech hops (one flag per frame hop) inside the window starting at ``start``."""
    part = speech_flags[start : start + params.window_frames]
    return float(part.mean()) if part.size else 0.0


def cut_windows(frames: np.ndarray, speech_flags: np.ndarray, starts, params: FeatureParams,
                norm: Optional[Norm] = None) -> tuple[np.ndarray, np.ndarray]:
    """The windows starting at frame indices ``starts`` (each whole inside ``frames``):
    (normalised windows (k, window_frames, n_mfcc) float32, voiced fraction per window (k,))."""
    fractions = np.array([voiced_fraction(speech_flags, int(s), params) for s in starts])
    stack = np.stack([frames[int(s): int(s) + params.window_frames] for s in starts])
    return normalise_window(stack, params, norm), fractions


def clip_windows(
    frames: np.ndarray, speech_flags: np.ndarray, params: FeatureParams, *, min_voiced: float = 0.5,
    norm: Optional[Norm] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The normalised windows of a clip that carry speech, for a clip-level decision.

    frames: (n, n_mfcc) float32 MFCC of the clip; speech_flags: (>= n,) bool, one per hop.
    Returns (windows (k, window_frames, n_mfcc) float32, voiced fraction per window (k,)).
    Windows with at least ``min_voiced`` speech are kept; when none is, the single most
    voiced window is used so that every clip with any frames gets a decision. A clip
    shorter than one window is repeated to fill it. No frames -> k = 0. ``norm``: the
    speaker's statistics, for ``speaker_cmvn``.
    """
    if frames.shape[0] == 0:
        return np.zeros((0, params.window_frames, params.n_mfcc), np.float32), np.zeros(0)
    flags = np.asarray(speech_flags, dtype=bool)
    if frames.shape[0] < params.window_frames:
        voiced = float(flags[: frames.shape[0]].mean()) if flags.size else 0.0
        return normalise_window(fit_to_window(frames, params), params, norm)[None], np.array([voiced])
    windows, fractions = cut_windows(frames, flags, window_starts(frames.shape[0], params), params, norm)
    keep = fractions >= min_voiced
    if not keep.any():
        keep = np.arange(len(fractions)) == np.argmax(fractions)  # just the first of the most voiced
    return windows[keep], fractions[keep]

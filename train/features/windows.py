"""From cached clip features to arrays of normalised classification windows.

With ``channels="prosody"`` each frame gets three channels after its n_mfcc normalised MFCC, from
the cached prosody rows (`ser_edge.frontend.prosody.PROSODY_COLUMNS`): log F0 minus the mean log F0
of the speaker's voiced frames (over the speaker's clips in the same call and variant; the clip's
own for a clip without a speaker), 0 on unvoiced frames; voicing in [0, 1] as the tracker gives
it; log energy minus its mean over the clip's speech frames (all frames when none is speech).
The windows are cut exactly as the MFCC's (`clip_windows`), without normalisation.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np

from ser_edge.frontend.normalise import Norm
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import PROSODY_COLUMNS
from ser_edge.frontend.windows import clip_windows
from ser_train.data.corpora import Clip
from ser_train.data.labels import LabelSet
from ser_train.features.cache import ClipFeatures


@dataclass(frozen=True)
class WindowSet:
    """x (n, window_frames, n_mfcc [+ 3 prosodic channels]) float32, y (n,) int64 label index, clip (n,) int64 clip number."""

    x: np.ndarray
    y: np.ndarray
    clip: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


def build_windows(
    clips: Sequence[Clip],
    features: Mapping[tuple[Path, str], ClipFeatures],
    label_set: LabelSet,
    params: FeatureParams,
    *,
    variants: Sequence[str] = ("clean",),
    min_voiced: float = 0.5,
    numbers: Optional[Sequence[int]] = None,
    norms: Optional[Mapping[tuple[int, str], Norm]] = None,
    channels: str = "mfcc",
) -> WindowSet:
    """Voiced windows of every clip (and variant) whose emotion is in the label set.

    ``clip`` numbers are ``numbers[k]`` for ``clips[k]`` (default: k), so window scores
    can be pooled per clip and traced back to it: pass the clips' positions in the
    list the caller will look them up in. Clips without features (unreadable files)
    are simply absent. ``norms``: (clip number, variant) -> speaker statistics, for
    ``speaker_cmvn``. ``channels``: "mfcc", or "prosody" for three more (module doc).
    """
    f0_means = speaker_f0_means(clips, features, variants) if channels == "prosody" else {}
    raw = dataclasses.replace(params, normalisation="none")
    xs, ys, ids = [], [], []
    for number, clip in zip(range(len(clips)) if numbers is None else numbers, clips):
        label = label_set.index_of(clip.emotion)
        if label is None:
            continue
        for variant in variants:
            feats = features.get((clip.path, variant))
            if feats is None:
                continue
            norm = norms.get((number, variant)) if norms is not None else None
            windows, _ = clip_windows(feats.frames, feats.speech, params, min_voiced=min_voiced, norm=norm)
            if channels == "prosody" and len(windows):
                extra = prosody_channels(feats, f0_means.get((clip.speaker, variant)))
                windows = np.concatenate([windows, clip_windows(extra, feats.speech, raw, min_voiced=min_voiced)[0]], -1)
            xs.append(windows)
            ys.append(np.full(len(windows), label, dtype=np.int64))
            ids.append(np.full(len(windows), number, dtype=np.int64))
    if not xs:
        empty = np.zeros((0, params.window_frames, params.n_mfcc + 3 * (channels == "prosody")), np.float32)
        return WindowSet(empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    return WindowSet(np.concatenate(xs), np.concatenate(ys), np.concatenate(ids))


def prosody_channels(feats: ClipFeatures, f0_mean: Optional[float] = None) -> np.ndarray:
    """(n, 3) float32 beside the clip's n MFCC frames: log F0 minus ``f0_mean`` (natural log of Hz;
    default: the mean over the clip's voiced frames) on voiced frames, else 0; voicing in [0, 1];
    log energy minus its mean over the clip's speech frames (all frames when none is speech)."""
    rows = feats.prosody
    if rows is None:
        raise ValueError("prosodic channels need the prosody rows (FeatureParams.prosody on)")
    log_f0, voicing, is_voiced, energy = (rows[:, PROSODY_COLUMNS.index(k)].astype(np.float64)
                                          for k in ("log_f0", "voicing", "voiced", "log_energy"))
    voiced_frames = is_voiced > 0.5
    if f0_mean is None:
        f0_mean = float(log_f0[voiced_frames].mean()) if voiced_frames.any() else 0.0
    speech = np.zeros(len(rows), bool)
    flags = np.asarray(feats.speech[: len(rows)], dtype=bool)
    speech[: len(flags)] = flags
    level = energy[speech].mean() if speech.any() else (energy.mean() if len(rows) else 0.0)
    return np.stack([np.where(voiced_frames, log_f0 - f0_mean, 0.0), voicing, energy - level], -1).astype(np.float32)


def speaker_f0_means(clips: Sequence[Clip], features: Mapping[tuple[Path, str], ClipFeatures],
                     variants: Sequence[str]) -> dict[tuple[str, str], float]:
    """(speaker, variant) -> mean log F0 (natural log of Hz) over the voiced frames of the speaker's
    ``clips`` that have features with prosody rows; speakers without a voiced frame are absent."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for clip in clips:
        for variant in variants:
            feats = features.get((clip.path, variant))
            if not clip.speaker or feats is None or feats.prosody is None:
                continue
            rows = feats.prosody
            voiced_f0 = rows[rows[:, PROSODY_COLUMNS.index("voiced")] > 0.5, PROSODY_COLUMNS.index("log_f0")]
            sums[(clip.speaker, variant)][0] += float(voiced_f0.sum(dtype=np.float64))
            sums[(clip.speaker, variant)][1] += voiced_f0.size
    return {key: total / count for key, (total, count) in sums.items() if count}


def class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    """Inverse-frequency weights averaging 1 over present classes (balances the loss)."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}

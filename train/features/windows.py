"""From cached clip features to arrays of normalised classification windows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np

from ser_edge.frontend.normalise import Norm
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.windows import clip_windows
from ser_train.data.corpora import Clip
from ser_train.data.labels import LabelSet
from ser_train.features.cache import ClipFeatures


@dataclass(frozen=True)
class WindowSet:
    """x (n, window_frames, n_mfcc) float32, y (n,) int64 label index, clip (n,) int64 clip number."""

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
) -> WindowSet:
    """Voiced windows of every clip (and variant) whose emotion is in the label set.

    ``clip`` numbers are ``numbers[k]`` for ``clips[k]`` (default: k), so window scores
    can be pooled per clip and traced back to it: pass the clips' positions in the
    list the caller will look them up in. Clips without features (unreadable files)
    are simply absent. ``norms``: (clip number, variant) -> speaker statistics, for
    ``speaker_cmvn``.
    """
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
            xs.append(windows)
            ys.append(np.full(len(windows), label, dtype=np.int64))
            ids.append(np.full(len(windows), number, dtype=np.int64))
    if not xs:
        empty = np.zeros((0, params.window_frames, params.n_mfcc), np.float32)
        return WindowSet(empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    return WindowSet(np.concatenate(xs), np.concatenate(ys), np.concatenate(ids))


def class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    """Inverse-frequency weights averaging 1 over present classes (balances the loss)."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}

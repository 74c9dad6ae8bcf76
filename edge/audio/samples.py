"""Checks on sample arrays handed to the streaming cores."""

from __future__ import annotations

import numpy as np

from ser_edge.errors import AudioError


def as_mono_float32(samples: np.ndarray, who: str) -> np.ndarray:
    """(n,) or (n, 1) float samples in [-1, 1] -> (n,) float32; AudioError naming ``who`` otherwise."""
    x = np.asarray(samples)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise AudioError(f"{who}: expected mono samples of shape (n,), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise AudioError(f"{who}: expected float samples in [-1, 1], got dtype {x.dtype}")
    return x.astype(np.float32, copy=False)

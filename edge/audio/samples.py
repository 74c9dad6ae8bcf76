"""Checks on sample arrays: those handed to the streaming cores, and the one rule for arrays
and sample rates given to the Python API (`ser_edge.api.classify`, `ser_edge.api.iter_events`).

The API's rule: a NumPy array of shape (n,) or (n, 1) (mono); int16 is scaled by 1/32768,
float32 and float64 are taken as they are (clipped to [-1, 1], as a float WAV file is); every
sample finite. Anything else (other integer widths, uint8, bool, complex, stereo or 3-D
arrays, bytes, NaN or infinite samples) is an `AudioError` naming the dtype, shape or value
and what is allowed. A sample rate is a whole number of Hz within the file reader's range.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ser_edge.errors import AudioError

from .wavfile import MAX_RATE, MIN_RATE

#: what the API takes, for messages
ALLOWED_ARRAYS = "int16 (scaled by 1/32768), float32 or float64 samples in [-1, 1], of shape (n,) or (n, 1)"


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


def api_samples(samples: Any, who: str) -> np.ndarray:
    """An array given to the Python API -> (n,) float32 in [-1, 1] (the module's rule); AudioError
    naming ``who`` and what is allowed otherwise."""
    if not isinstance(samples, np.ndarray):
        raise AudioError(f"{who}: a {type(samples).__name__} is not samples; allowed: a NumPy array of "
                         f"{ALLOWED_ARRAYS} (raw s16le bytes: np.frombuffer(data, '<i2'))")
    if samples.dtype == np.int16:
        x = samples.astype(np.float32) / 32768.0
    elif samples.dtype in (np.float32, np.float64):
        x = samples
    else:
        raise AudioError(f"{who}: samples of dtype {samples.dtype} are not supported; allowed: {ALLOWED_ARRAYS}")
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise AudioError(f"{who}: samples of shape {samples.shape} are not supported; allowed: {ALLOWED_ARRAYS} "
                         "(mix channels down first)")
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{who}: holds NaN or infinite samples; allowed: {ALLOWED_ARRAYS}")
    return np.clip(x, -1.0, 1.0).astype(np.float32, copy=False)  # clip before narrowing: 1e300 is not inf


def api_rate(value: Any, who: str = "sample_rate") -> int:
    """A sample rate given to the Python API -> int Hz; AudioError unless a whole number of Hz
    from `MIN_RATE` to `MAX_RATE` (the file reader's range)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer()
    if not ok or not MIN_RATE <= int(value) <= MAX_RATE:
        raise AudioError(f"{who}={value!r} is not supported; allowed: a whole number of Hz from {MIN_RATE} "
                         f"to {MAX_RATE}")
    return int(value)

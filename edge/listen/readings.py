"""Readings the listener reports: block level (dBFS) and latency percentiles, NumPy only."""

from __future__ import annotations

import numpy as np

from ser_edge.frontend.vad import LEVEL_FLOOR_DB

__all__ = ["level_dbfs", "percentile"]


def level_dbfs(samples: np.ndarray) -> float:
    """Mean-square level of float samples, dBFS (0 dBFS = mean square 1), floored at -120."""
    if samples.size == 0:
        return LEVEL_FLOOR_DB
    mean_square = float(np.mean(np.square(samples, dtype=np.float64)))
    return max(LEVEL_FLOOR_DB, 10.0 * np.log10(mean_square + 1e-20))


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (its default linear method, the same float arithmetic) of 1-D
    finite values: np.percentile calls np.unique, which imports numpy.ma (0.7 MB resident)."""
    a = np.sort(values)
    virtual = (a.size - 1) * (q / 100)
    lo = int(np.floor(virtual))
    lo_value, hi_value, t = a[lo], a[min(lo + 1, a.size - 1)], virtual - lo
    step = hi_value - lo_value
    return float(hi_value - step * (1 - t) if t >= 0.5 else lo_value + step * t)

"""Cost of the speaker statistics per classification window, for `ser-edge bench`.

Per window hop the device adds one segment of ``window_hop_frames`` voiced frames to the
running statistics (`Adapter.learn`), recomputes the mean and 1/std (`Adapter.norm`) and
normalises the window with them. Timed on real frames with the bundle's prior, or for a
window-normalised bundle with a stand-in prior (the cost it would have), in microseconds.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.windows import normalise_window
from ser_edge.listen.adapter import Adapter


def adaptation_cost(bundle, frames: np.ndarray, *, repeats: int = 2000) -> dict[str, Any]:
    """learn + norm + normalise per window hop, us (p50/p95/mean); ``frames``: (n, n_mfcc) MFCC,
    at least one window's worth (zeros if fewer)."""
    p = bundle.params
    if frames.shape[0] < p.window_frames:
        frames = np.zeros((p.window_frames, p.n_mfcc), np.float32)
    prior = bundle.prior if bundle.adaptive else Prior(frames.mean(axis=0), frames.var(axis=0) + 1e-2)
    params = p if bundle.adaptive else p.replace(normalisation="speaker_cmvn")
    adapter = Adapter(params, prior)
    h, w = p.window_hop_frames, p.window_frames
    starts = np.arange(0, frames.shape[0] - w + 1, h)
    times = []
    for k in range(repeats):
        s = int(starts[k % len(starts)])
        t0 = time.perf_counter()
        adapter.learn(frames[s:s + h])
        normalise_window(frames[s:s + w], params, adapter.norm())
        times.append(1e6 * (time.perf_counter() - t0))
    x = np.array(times)
    return {"n": len(times), "p50": round(float(np.percentile(x, 50)), 1), "p95": round(float(np.percentile(x, 95)), 1),
            "mean": round(float(x.mean()), 1), "memory_floats": 2 * p.n_mfcc + 3, "adaptive_model": bundle.adaptive}

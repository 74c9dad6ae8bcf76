"""Speaker (adaptive) normalisation: the mean and variance of a speaker's voiced MFCC frames.

One implementation for the device, training and evaluation. `RunningStats` starts from a
population prior (statistics over the training speakers) that weighs ``adapt_prior_s``
seconds of speech, and adds voiced frames as they come, each weighing one hop
(``hop_ms``); older frames, the prior included, fade by exp(-t / ``adapt_time_constant_s``)
where t counts seconds of *speech* since (silence does not age the statistics).

After frames x_1..x_n (one hop h each, a = exp(-h / tau)) the statistics are

    W  = prior_s * a^n          + sum_i h * a^(n-i)
    m  = (prior_s * a^n * m0    + sum_i h * a^(n-i) * x_i) / W
    s2 = (prior_s * a^n * (v0 + m0^2) + sum_i h * a^(n-i) * x_i^2) / W,   v = s2 - m^2

kept as the three weighted sums (float64), so that a block of k frames is one vectorised
update and the result does not depend on how the frames were split into blocks (equal to
rounding; a batch over all frames at once is the same computation). Memory is flat:
2 x n_mfcc floats and a few scalars. The normalised window is (x - m) / sqrt(max(v, floor)).

The prior's variance is the mean of the training speakers' own variances (not the
variance of all frames pooled), so a cold start scales windows as a learnt speaker would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

import numpy as np

from .params import FeatureParams

#: variance floor, squared cepstral units (as the per-window CMVN floor)
VAR_FLOOR = 1e-2


@dataclass(frozen=True)
class Prior:
    """Population statistics: mean (n_mfcc,) and var (n_mfcc,) float64, over ``speakers``
    training speakers and ``seconds`` of their voiced speech."""

    mean: np.ndarray
    var: np.ndarray
    speakers: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"mean": [float(v) for v in self.mean], "var": [float(v) for v in self.var],
                "speakers": int(self.speakers), "seconds": round(float(self.seconds), 1)}

    @classmethod
    def from_dict(cls, data: Any, n_mfcc: int) -> "Prior":
        """Checked: ValueError saying what is wrong (shape, non-finite, var <= 0)."""
        if not isinstance(data, Mapping):
            raise ValueError("the prior must be an object with mean and var")
        arrays = []
        for key in ("mean", "var"):
            raw = data.get(key)
            if not isinstance(raw, list) or len(raw) != n_mfcc or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
                raise ValueError(f"prior {key} must be a list of {n_mfcc} numbers (n_mfcc)")
            arr = np.array(raw, dtype=np.float64)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"prior {key} has non-finite values")
            arrays.append(arr)
        if not np.all(arrays[1] > 0):
            raise ValueError("prior var must be > 0 for every coefficient")
        speakers, seconds = data.get("speakers", 0), data.get("seconds", 0.0)
        if isinstance(speakers, bool) or not isinstance(speakers, int) or speakers < 0:
            raise ValueError(f"prior speakers must be a count (an integer >= 0), got {speakers!r}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < math.inf:
            raise ValueError(f"prior seconds must be a finite number >= 0, got {seconds!r}")
        return cls(arrays[0], arrays[1], speakers, float(seconds))


@dataclass(frozen=True)
class Norm:
    """What a window is normalised with: mean and 1/std, (n_mfcc,) float32."""

    mean: np.ndarray
    inv_std: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(..., frames, n_mfcc) float -> the same shape, float32."""
        return (np.asarray(x, dtype=np.float32) - self.mean) * self.inv_std


class RunningStats:
    """Exponentially forgetting statistics of voiced frames, from a prior (see the module doc)."""

    def __init__(self, prior: Prior, *, prior_s: float, time_constant_s: float, hop_s: float):
        self.prior, self.time_constant_s, self.hop_s = prior, float(time_constant_s), float(hop_s)
        self.weight = float(prior_s)  # W, seconds of speech (prior included)
        self.prior_weight = float(prior_s)  # what is left of the prior's weight, s
        self._s1 = prior.mean * prior_s
        self._s2 = (prior.var + prior.mean**2) * prior_s
        self.heard_s = 0.0  # voiced seconds ever added (no forgetting)

    @classmethod
    def for_params(cls, params: FeatureParams, prior: Prior) -> "RunningStats":
        """Fresh statistics with the constants of ``params`` (``hop_ms`` per frame)."""
        return cls(prior, prior_s=params.adapt_prior_s, time_constant_s=params.adapt_time_constant_s,
                   hop_s=params.hop_ms / 1000.0)

    @property
    def speech_s(self) -> float:
        """Seconds of the speaker's own speech the statistics rest on (effective, after forgetting)."""
        return max(0.0, self.weight - self.prior_weight)

    @property
    def mean(self) -> np.ndarray:
        return self._s1 / self.weight

    @property
    def var(self) -> np.ndarray:
        return np.maximum(self._s2 / self.weight - self.mean**2, 0.0)

    def norm(self) -> Norm:
        """The current statistics as a `Norm` for windows."""
        std = np.sqrt(np.maximum(self.var, VAR_FLOOR))
        return Norm(self.mean.astype(np.float32), (1.0 / std).astype(np.float32))

    def update(self, frames: np.ndarray) -> "RunningStats":
        """Add voiced frames (k, n_mfcc), oldest first; returns self. Rows with a NaN or an
        infinity are left out (`finite_rows`): one such frame would poison the sums for good."""
        x = finite_rows(np.asarray(frames, dtype=np.float64))
        k = x.shape[0]
        if k == 0:
            return self
        steps = np.arange(k - 1, -1, -1, dtype=np.float64) * (self.hop_s / self.time_constant_s)
        w = self.hop_s * np.exp(-steps)  # newest frame weighs one hop
        decay = math.exp(-k * self.hop_s / self.time_constant_s)
        self.weight = decay * self.weight + float(w.sum())
        self.prior_weight *= decay
        self._s1 = decay * self._s1 + w @ x
        self._s2 = decay * self._s2 + w @ (x * x)
        self.heard_s += k * self.hop_s
        return self

    def copy(self) -> "RunningStats":
        out = RunningStats.__new__(RunningStats)
        out.__dict__.update({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()})
        return out

    # ----- persistence (see ser_edge.service.adaptstore) ------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"weight": self.weight, "prior_weight": self.prior_weight, "heard_s": self.heard_s,
                "sum1": [float(v) for v in self._s1], "sum2": [float(v) for v in self._s2]}

    def load(self, data: Mapping[str, Any]) -> "RunningStats":
        """Take the sums of `to_dict` (checked: ValueError if unusable); returns self."""
        n = self._s1.shape[0]
        s1, s2 = (np.array(data[k], dtype=np.float64) for k in ("sum1", "sum2"))
        weight, prior_weight, heard = (float(data[k]) for k in ("weight", "prior_weight", "heard_s"))
        if s1.shape != (n,) or s2.shape != (n,):
            raise ValueError(f"statistics for {s1.shape} coefficients, expected {n}")
        if not (np.all(np.isfinite(s1)) and np.all(np.isfinite(s2)) and math.isfinite(weight + prior_weight + heard)):
            raise ValueError("non-finite statistics")
        if not (weight > 0 and 0 <= prior_weight <= weight and heard >= 0):
            raise ValueError(f"impossible weights (weight {weight}, prior {prior_weight}, heard {heard})")
        self.weight, self.prior_weight, self.heard_s, self._s1, self._s2 = weight, prior_weight, heard, s1, s2
        return self

    def rebase(self, old: Prior) -> "RunningStats":
        """Swap what is left of prior ``old`` in the sums for this statistics' own prior; returns self.

        For statistics saved under another bundle's prior (same feature parameters): the
        speaker's frames stay, only the prior's remaining ``prior_weight`` seconds change.
        """
        if old.mean.shape != self.prior.mean.shape:
            raise ValueError(f"a prior of {old.mean.shape[0]} coefficients, expected {self.prior.mean.shape[0]}")
        w = self.prior_weight
        self._s1 = self._s1 + w * (self.prior.mean - old.mean)
        self._s2 = self._s2 + w * ((self.prior.var + self.prior.mean**2) - (old.var + old.mean**2))
        return self


def finite_rows(frames: np.ndarray) -> np.ndarray:
    """The rows of (k, n_mfcc) frames whose every value is finite (all of them, as they are, when so)."""
    keep = np.isfinite(frames).all(axis=1)
    return frames if keep.all() else frames[keep]


def voiced(frames: np.ndarray, speech_flags: np.ndarray) -> np.ndarray:
    """The voiced rows of (n, n_mfcc) frames, one flag per frame hop (flags may run longer)."""
    n = min(frames.shape[0], len(speech_flags))
    return frames[:n][np.asarray(speech_flags[:n], dtype=bool)]


def batch_stats(params: FeatureParams, prior: Prior, voiced_frames: Iterable[np.ndarray]) -> RunningStats:
    """Statistics after the given blocks of voiced frames, oldest first (the device's computation)."""
    stats = RunningStats.for_params(params, prior)
    for block in voiced_frames:
        stats.update(block)
    return stats


def population_prior(per_speaker: Mapping[str, np.ndarray], hop_s: float) -> Optional[Prior]:
    """Prior from each training speaker's voiced frames (n_i, n_mfcc): mean of their means,
    mean of their variances; None when no speaker has a voiced frame."""
    usable = [f.astype(np.float64) for f in per_speaker.values() if f.shape[0] > 1]
    if not usable:
        return None
    mean = np.mean([f.mean(axis=0) for f in usable], axis=0)
    var = np.maximum(np.mean([f.var(axis=0) for f in usable], axis=0), VAR_FLOOR)
    return Prior(mean, var, len(usable), float(sum(f.shape[0] for f in usable) * hop_s))


def leave_one_out(params: FeatureParams, prior: Prior, blocks: list[np.ndarray]) -> list[RunningStats]:
    """For each i, the statistics after every block but block i, in order (as `batch_stats` of
    the list without block i, to rounding), in O(total frames) rather than O(n x total).

    With forgetting, leaving block i out makes everything before it younger by its length: the
    result is the state before i, aged by the frames after i, plus what the blocks after i
    contribute (summed backwards, each aged by the frames after it)."""
    def zero() -> RunningStats:
        out = RunningStats(prior, prior_s=0.0, time_constant_s=params.adapt_time_constant_s,
                           hop_s=params.hop_ms / 1000.0)
        out.weight, out._s1, out._s2 = 0.0, np.zeros_like(prior.mean), np.zeros_like(prior.mean)
        return out

    def aged(stats: RunningStats, frames: int) -> RunningStats:
        out, d = stats.copy(), math.exp(-frames * stats.hop_s / stats.time_constant_s)
        out.weight, out.prior_weight, out._s1, out._s2 = d * out.weight, d * out.prior_weight, d * out._s1, d * out._s2
        return out

    def plus(a: RunningStats, b: RunningStats) -> RunningStats:
        out = a.copy()
        out.weight, out._s1, out._s2 = a.weight + b.weight, a._s1 + b._s1, a._s2 + b._s2
        out.prior_weight, out.heard_s = a.prior_weight + b.prior_weight, a.heard_s + b.heard_s
        return out

    prefix = [RunningStats.for_params(params, prior)]  # prefix[i]: after blocks 0..i-1
    for block in blocks[:-1]:
        prefix.append(prefix[-1].copy().update(block))
    out: list[RunningStats] = [None] * len(blocks)  # type: ignore[list-item]
    after, after_frames = zero(), 0  # contribution of blocks i+1.., as of the end; their frame count
    for i in range(len(blocks) - 1, -1, -1):
        out[i] = plus(aged(prefix[i], after_frames), after)
        after = plus(aged(zero().update(blocks[i]), after_frames), after)
        after_frames += blocks[i].shape[0]
    return out

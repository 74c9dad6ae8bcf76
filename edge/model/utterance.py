"""Decisions over whole utterances on the device: a bundle's ``utterance`` head, NumPy only.

A voiced segment (the gate's stretch of speech, its last ``max_s`` seconds at most) is decided
as a whole by two experts that were trained apart (`ser-train --head fusion`):

* the network: the mean natural-log probability of the segment's classified windows (the int8
  model's scores, floored at ``floor``), (classes,);
* a multinomial logistic regression on the segment's statistics (`ser_edge.frontend.functionals`:
  MFCC statistics and, when the bundle's front end has prosody, prosodic ones), the vector
  z-scored by the speaker's segment statistics (`VectorStats`: the head's population prior at
  first, then the speaker's own segments as the device hears them), ``weight`` (classes, d) and
  ``bias`` (classes,) with the standardisation of training folded in.

Scores = softmax(network + log regression probability). Manifest, covered by its sha256::

    "utterance": {"kind": "fusion", "dims": d, "weight": [[...] x classes], "bias": [...],
                  "prior": {"mean": [d], "sd": [d], "count": segments}, "floor": 1e-4,
                  "max_s": 10.0, "every_s": 3.0, "min_speech_s": 1.0}

Cost: one (classes x d) product and a softmax per decision, d about 108: microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np

from ser_edge.errors import BundleError

FIELD = "utterance"
KINDS = ("fusion",)
MAX_DIMS = 4096
#: the prior weighs as much as this many segments; the speaker's statistics forget beyond `MAX_COUNT`
PRIOR_COUNT, MAX_COUNT = 5.0, 200.0


@dataclass(frozen=True)
class UtteranceHead:
    """A bundle's utterance head: regression weights (classes, d) float64, bias (classes,), the
    population prior of segment vectors (mean, sd: (d,) float64), timing (s) and the log floor."""

    weight: np.ndarray
    bias: np.ndarray
    prior_mean: np.ndarray
    prior_sd: np.ndarray
    prior_count: float = PRIOR_COUNT
    floor: float = 1e-4
    max_s: float = 10.0
    every_s: float = 3.0
    min_speech_s: float = 1.0

    @property
    def dims(self) -> int:
        return int(self.weight.shape[1])

    def regression(self, z: np.ndarray) -> np.ndarray:
        """(classes,) float64 probabilities of the regression on a z-scored vector (d,)."""
        return _softmax(self.weight @ np.asarray(z, dtype=np.float64) + self.bias)

    def scores(self, window_scores: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(classes,) float32: the fused decision of a segment's window scores (k, classes), k >= 1,
        and its z-scored statistics (d,)."""
        w = np.asarray(window_scores, dtype=np.float64).reshape(-1, self.weight.shape[0])
        network = np.log(np.maximum(w, self.floor)).mean(axis=0)
        return _softmax(network + np.log(np.maximum(self.regression(z), self.floor))).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry (`FIELD`), floats to 7 significant digits."""
        def r(a: np.ndarray) -> Any:
            return np.vectorize(lambda v: float(f"{v:.7g}"), otypes=[float])(a).tolist()
        return {"kind": "fusion", "dims": self.dims, "weight": r(self.weight), "bias": r(self.bias),
                "prior": {"mean": r(self.prior_mean), "sd": r(self.prior_sd), "count": self.prior_count},
                "floor": self.floor, "max_s": self.max_s, "every_s": self.every_s, "min_speech_s": self.min_speech_s}


def read_head(name: str, manifest: Mapping[str, Any], n_classes: int, dims: int) -> Optional[UtteranceHead]:
    """The head of a manifest (None without one); BundleError naming the bundle and the field when
    it is malformed or does not fit the model (``n_classes``) and front end (``dims`` statistics)."""
    block = manifest.get(FIELD)
    if block is None:
        return None
    where = f"{name}: manifest {FIELD}"
    if not isinstance(block, dict) or block.get("kind") not in KINDS:
        raise BundleError(f"{where} must be an object with kind one of {', '.join(KINDS)}")
    if block.get("dims") != dims:
        raise BundleError(f"{where}.dims is {block.get('dims')!r}, but the front end gives {dims} statistics")
    prior = block.get("prior") if isinstance(block.get("prior"), dict) else {}
    weight = _array(where, "weight", block.get("weight"), (n_classes, dims))
    bias = _array(where, "bias", block.get("bias"), (n_classes,))
    mean = _array(where, "prior.mean", prior.get("mean"), (dims,))
    sd = _array(where, "prior.sd", prior.get("sd"), (dims,))
    if (sd <= 0).any():
        raise BundleError(f"{where}.prior.sd must be positive")
    numbers = {key: _number(where, key, block.get(key, default), low, high) for key, default, low, high in (
        ("floor", 1e-4, 1e-12, 0.5), ("max_s", 10.0, 0.5, 600.0), ("every_s", 3.0, 0.5, 600.0),
        ("min_speech_s", 1.0, 0.0, 600.0))}
    count = _number(where, "prior.count", prior.get("count", PRIOR_COUNT), 0.0, MAX_COUNT)
    return UtteranceHead(weight, bias, mean, sd, count, **numbers)


def _array(where: str, key: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        a = None
    if a is None or a.shape != shape or not np.isfinite(a).all():
        raise BundleError(f"{where}.{key} must be {' x '.join(map(str, shape))} finite numbers")
    return a


def _number(where: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise BundleError(f"{where}.{key} = {value!r} is invalid; allowed: a number in [{low:g}, {high:g}]")
    return float(value)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


class VectorStats:
    """The speaker's running mean and variance of segment vectors (d,), float64: starts at a prior
    worth ``prior_count`` segments, then each segment counts 1/n with n growing to `MAX_COUNT`
    (older segments fade after about that many). Pure: no clock, no I/O."""

    def __init__(self, mean: np.ndarray, sd: np.ndarray, count: float = PRIOR_COUNT, *, segments: int = 0):
        self.mean = np.array(mean, dtype=np.float64)
        self.var = np.square(np.asarray(sd, dtype=np.float64))
        self.count, self.segments = float(count), int(segments)

    @classmethod
    def for_head(cls, head: UtteranceHead) -> "VectorStats":
        return cls(head.prior_mean, head.prior_sd, head.prior_count)

    def zscore(self, vector: np.ndarray, min_sd: float = 1e-3) -> np.ndarray:
        """(d,) float64: ``vector`` minus the mean, over the sd (at least ``min_sd``)."""
        return (np.asarray(vector, dtype=np.float64) - self.mean) / np.maximum(np.sqrt(self.var), min_sd)

    def update(self, vector: np.ndarray) -> None:
        """Learn one segment's vector (d,); a vector with a NaN or an infinity is ignored."""
        v = np.asarray(vector, dtype=np.float64)
        if v.shape != self.mean.shape or not np.isfinite(v).all():
            return
        self.count = min(self.count + 1.0, MAX_COUNT)
        a = 1.0 / max(self.count, 1.0)
        delta = v - self.mean
        self.mean = self.mean + a * delta
        self.var = (1.0 - a) * (self.var + a * delta**2)
        self.segments += 1

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "sd": np.sqrt(self.var).tolist(), "count": self.count,
                "segments": self.segments}

    @classmethod
    def from_dict(cls, data: Any, dims: int) -> "VectorStats":
        """From `to_dict` output; ValueError saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("utterance statistics must be an object with mean, sd, count and segments")
        mean, sd = np.array(data.get("mean"), dtype=np.float64), np.array(data.get("sd"), dtype=np.float64)
        count, segments = data.get("count"), data.get("segments", 0)
        if mean.shape != (dims,) or sd.shape != (dims,) or not (np.isfinite(mean).all() and np.isfinite(sd).all()):
            raise ValueError(f"utterance statistics need {dims} finite means and sds")
        if (sd < 0).any() or not isinstance(count, (int, float)) or not 0 <= count <= MAX_COUNT:
            raise ValueError(f"utterance statistics: sds must be >= 0 and count in [0, {MAX_COUNT:g}]")
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 0:
            raise ValueError("utterance statistics: segments must be a whole number >= 0")
        return cls(mean, sd, float(count), segments=segments)

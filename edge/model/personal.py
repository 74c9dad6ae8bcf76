"""The personal head: a few labelled clips of the device's own speaker move the bundle's decision.

Each enrolled clip is one vector (`head_vector`): the clip's functionals over its speech span
(`ser_edge.frontend.functionals.segment_vector`, as the utterance decider computes them: MFCC
statistics, and prosody ones when the bundle's front end has them) followed by the log of the
bundle's clip probabilities. Vectors are scaled
per dimension by the spread of the enrolled clips themselves (`Scaling`): the speaker's own
spread, so what counts is how a clip differs from the speaker's other clips, as in training's
per-speaker z-score. (The speaker's mean cancels in every distance below, so only the spread
matters.)

A class with enrolled clips has a prototype, the mean of its clips' scaled vectors. A clip's
distance D_c to a prototype is the mean squared difference over the dimensions (the model's score
block weighing ``score_share`` of it, the functionals the rest: in z units, two random clips of
one speaker are about 2 apart). Near a prototype (D_c < ``reach``) the class gains, far from it
the class loses, in proportion:

    log p(c) = log p_bundle(c) + g_c * (reach - D_c)    for c in the enrolled classes
    log p(c) = log p_bundle(c)                          for the others

then renormalised, with g_c = gain * k_c / (k_c + half_clips) growing with the k_c clips of the
class. So a class nobody enrolled keeps the bundle's score, and a clip far from every enrolled
prototype leaves them to it (a softmax over the prototypes alone would hand it to the nearest
enrolled class). The head acts only from `MIN_CLIPS` clips of `MIN_CLASSES` classes on: the
scaling rests on the enrolled clips' spread, which a few clips of one emotion underestimate
(every other clip would look far from them). The settings were chosen on leave-one-corpus-out
folds, with a check that clips of classes nobody enrolled keep their recall (docs/ADAPTATION.md).
NumPy only; the same code runs in `ser-train eval --enrol-per-class` and on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ser_edge.errors import ConfigError

#: probabilities are floored before their log: one 0 must not veto a class
FLOOR = 1e-4
#: a dimension's spread is never taken below this share of its typical (median) spread
MIN_SD_SHARE = 0.05
#: the head acts from this many enrolled clips, of at least `MIN_CLASSES` classes
MIN_CLIPS = 4
MIN_CLASSES = 3
#: pseudo-clips of the typical variance the enrolled clips' variance is pooled with (`Scaling.of`)
PRIOR_CLIPS = 2.0


@dataclass(frozen=True)
class HeadSettings:
    """How far the prototypes move the bundle: ``gain`` (nats per unit of distance) for a class with
    many clips, ``reach`` the distance (mean squared z) below which a class gains, ``half_clips``
    the clips at which a class has half the gain, ``score_share`` (0..1) the share of the distance
    taken from the model's log-probabilities (the rest from the functionals)."""

    gain: float = 8.0
    reach: float = 1.5
    half_clips: float = 0.5
    score_share: float = 0.0

    def __post_init__(self) -> None:
        for name in ("gain", "reach", "half_clips"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ConfigError(f"personal head {name}={value!r} is invalid; allowed: a number >= 0")
        if not 0.0 <= self.score_share <= 1.0:
            raise ConfigError(f"personal head score_share={self.score_share!r} is invalid; allowed: 0 to 1")


def head_vector(functionals: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(d + n_classes,) float64: a clip's functionals (d,) then the log of the bundle's clip
    probabilities (n_classes,), floored at `FLOOR`."""
    p = np.maximum(np.asarray(probabilities, dtype=np.float64), FLOOR)
    return np.concatenate([np.asarray(functionals, dtype=np.float64), np.log(p)])


@dataclass(frozen=True)
class Scaling:
    """Per-dimension centre and spread, (D,) float64 each: z = (x - centre) / spread."""

    centre: np.ndarray
    spread: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray, prior_clips: float = 0.0) -> "Scaling":
        """From (n, D) vectors: their mean and standard deviation, the variance pooled with
        ``prior_clips`` pseudo-clips of the typical variance (the median over the dimensions that moved), and the spread
        floored at `MIN_SD_SHARE` of the typical spread (a dimension that never moved must not
        dominate), at 1 where nothing moved at all."""
        x = np.asarray(vectors, dtype=np.float64)
        n = len(x)
        var = x.var(axis=0) if n > 1 else np.zeros(x.shape[1])
        typical = float(np.median(var[var > 0])) if np.any(var > 0) else 1.0
        var = (n * var + prior_clips * typical) / max(n + prior_clips, 1e-12)
        return cls(x.mean(axis=0), np.maximum(np.sqrt(var), MIN_SD_SHARE * np.sqrt(typical)))

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        return (np.asarray(vectors, dtype=np.float64) - self.centre) / self.spread


class PersonalHead:
    """Prototypes of enrolled clips and their product with the bundle's scores.

    ``vectors`` (n, D) `head_vector` rows of the enrolled clips, ``classes`` (n,) their label
    indices (0..n_classes-1), ``n_classes`` the bundle's, ``scaling`` default
    `Scaling.of(vectors, PRIOR_CLIPS)`.
    """

    def __init__(self, vectors: np.ndarray, classes: Sequence[int], n_classes: int,
                 settings: Optional[HeadSettings] = None, scaling: Optional[Scaling] = None):
        x = np.asarray(vectors, dtype=np.float64)
        y = np.asarray(classes, dtype=np.int64)
        if x.ndim != 2 or len(x) != len(y) or x.shape[1] <= n_classes:
            raise ValueError(f"enrolled vectors {x.shape} and classes {y.shape} do not fit {n_classes} classes")
        if len(y) and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"class indices must be 0..{n_classes - 1}, got {sorted(set(y.tolist()))}")
        self.n_classes, self.settings = n_classes, settings or HeadSettings()
        self.scaling = scaling or (Scaling.of(x, PRIOR_CLIPS) if len(x) else None)
        self.counts = np.bincount(y, minlength=n_classes)
        self.enrolled = np.flatnonzero(self.counts)
        z = self.scaling(x) if len(x) else x
        self.prototypes = np.array([z[y == c].mean(axis=0) for c in self.enrolled]).reshape(len(self.enrolled), x.shape[1])
        d = x.shape[1]
        share = self.settings.score_share
        self.dim_weight = np.concatenate([np.full(d - n_classes, (1 - share) / (d - n_classes)),
                                          np.full(n_classes, share / n_classes)])  # sums to 1
        k = self.counts[self.enrolled].astype(np.float64)
        self.class_gain = self.settings.gain * k / (k + self.settings.half_clips)

    @property
    def active(self) -> bool:
        """Whether the enrolment is enough to act on (`MIN_CLIPS` clips of `MIN_CLASSES` classes)."""
        return int(self.counts.sum()) >= MIN_CLIPS and len(self.enrolled) >= MIN_CLASSES

    def distances(self, vectors: np.ndarray) -> np.ndarray:
        """(m, |E|) mean squared z distance of (m, D) vectors to the prototypes (columns in `enrolled` order)."""
        z = self.scaling(vectors)
        return ((z[:, None, :] - self.prototypes[None]) ** 2 * self.dim_weight).sum(axis=2)

    def log_scores(self, vectors: np.ndarray) -> np.ndarray:
        """(m, n_classes) log-probabilities of clips given their (m, D) `head_vector` rows (whose
        last n_classes columns are the bundle's log-probabilities); the bundle's alone unless `active`."""
        x = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
        out = x[:, -self.n_classes:].copy()
        if self.active and len(x):
            out[:, self.enrolled] += self.class_gain * (self.settings.reach - self.distances(x))
        out -= out.max(axis=1, keepdims=True)
        return out - np.log(np.exp(out).sum(axis=1, keepdims=True))

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(m, n_classes) float64 probabilities (`log_scores`, exponentiated)."""
        return np.exp(self.log_scores(vectors))

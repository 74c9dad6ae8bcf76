"""Speaker statistics for training and evaluation, computed as the device computes them.

Training simulates a device that has heard a speaker for a while: each training speaker gets
``draws`` sets of statistics, each from a random budget of their voiced speech (log-uniform
from ``min_s`` seconds up to ``max_s`` or all of it, clips taken in a random order), and
each clip is normalised with one of them at random. So the model meets the noisy
statistics of a device after a few seconds as well as the settled ones after an hour.
Evaluation adapts to each test speaker from that speaker's *other* clips, up to a budget
(0 = the prior alone, a cold start). Statistics are `ser_edge.frontend.normalise.RunningStats`:
the device's own code, prior included.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from ser_edge.frontend.normalise import Norm, Prior, RunningStats, batch_stats, leave_one_out, population_prior, voiced
from ser_edge.frontend.params import FeatureParams
from ser_train.data.corpora import Clip
from ser_train.features.cache import ClipFeatures

#: (clip number, variant) -> the statistics its windows are normalised with
Norms = dict[tuple[int, str], Norm]


@dataclass(frozen=True)
class Budget:
    """Random budgets of speech for training statistics: log-uniform in [min_s, max_s] seconds
    (max_s 0 = all of the speaker's speech; a budget beyond it takes all); ``draws`` sets per speaker."""

    min_s: float = 3.0
    max_s: float = 0.0
    draws: int = 8

    def pick(self, total_s: float, rng: np.random.Generator) -> float:
        high = total_s if self.max_s <= 0 else min(self.max_s, total_s)
        low = min(self.min_s, high)
        if high <= 0:
            return 0.0
        return float(math.exp(rng.uniform(math.log(max(low, 1e-3)), math.log(high))))


def voiced_by_clip(clips: Sequence[Clip], features: Mapping[tuple[Path, str], ClipFeatures],
                   variant: str = "clean") -> dict[int, np.ndarray]:
    """Clip number -> its voiced MFCC frames (n, n_mfcc) float32, for clips that have features."""
    out = {}
    for number, clip in enumerate(clips):
        feats = features.get((clip.path, variant))
        if feats is not None:
            out[number] = voiced(feats.frames, feats.speech)
    return out


def by_speaker(clips: Sequence[Clip], numbers) -> dict[str, list[int]]:
    """Speaker -> clip numbers (in corpus order); clips without a speaker are left out."""
    out: dict[str, list[int]] = defaultdict(list)
    for i in numbers:
        if clips[i].speaker:
            out[clips[i].speaker].append(i)
    return dict(out)


def training_prior(clips: Sequence[Clip], voiced_frames: Mapping[int, np.ndarray], params: FeatureParams) -> Optional[Prior]:
    """The population prior over the training speakers (each speaker's clean voiced frames)."""
    groups = by_speaker(clips, voiced_frames)
    pooled = {s: np.concatenate([voiced_frames[i] for i in ids]) for s, ids in groups.items()}
    return population_prior(pooled, params.hop_ms / 1000.0)


def stats_from(params: FeatureParams, prior: Prior, blocks: Sequence[np.ndarray], budget_s: Optional[float]) -> RunningStats:
    """Statistics from ``blocks`` of voiced frames in order, stopping after ``budget_s`` seconds
    (None = all; 0 = the prior alone); the last block is cut to fit."""
    taken = list(blocks)
    if budget_s is not None:
        left, taken = int(round(budget_s / (params.hop_ms / 1000.0))), []
        for block in blocks:
            if left <= 0:
                break
            taken.append(block[:left])
            left -= taken[-1].shape[0]
    return batch_stats(params, prior, taken)


def training_norms(clips: Sequence[Clip], numbers: Sequence[int], voiced_frames: Mapping[int, np.ndarray],
                   params: FeatureParams, prior: Prior, budget: Budget, rng: np.random.Generator,
                   variant: str = "clean") -> Norms:
    """Random-budget statistics for each training clip (see the module doc)."""
    hop_s = params.hop_ms / 1000.0
    out: Norms = {}
    for speaker, ids in sorted(by_speaker(clips, [i for i in numbers if i in voiced_frames]).items()):
        total_s = sum(voiced_frames[i].shape[0] for i in ids) * hop_s
        draws = []
        for _ in range(max(1, budget.draws)):
            order = rng.permutation(len(ids))
            draws.append(stats_from(params, prior, [voiced_frames[ids[k]] for k in order], budget.pick(total_s, rng)).norm())
        for i in ids:
            out[(i, variant)] = draws[int(rng.integers(len(draws)))]
    return out


def settled_norms(clips: Sequence[Clip], numbers: Sequence[int], voiced_frames: Mapping[int, np.ndarray],
                  params: FeatureParams, prior: Prior) -> Norms:
    """Each speaker's statistics from all their clips (corpus order): validation during training.
    A clip without a speaker gets statistics from itself."""
    out: Norms = {}
    present = [i for i in numbers if i in voiced_frames]
    for ids in by_speaker(clips, present).values():
        norm = batch_stats(params, prior, [voiced_frames[i] for i in ids]).norm()
        out.update({(i, "clean"): norm for i in ids})
    for i in present:
        out.setdefault((i, "clean"), batch_stats(params, prior, [voiced_frames[i]]).norm())
    return out


def held_out_norms(clips: Sequence[Clip], voiced_frames: Mapping[int, np.ndarray], params: FeatureParams,
                   prior: Prior, budget_s: Optional[float], *, seed: int = 0,
                   learn_from: Optional[Callable[[Clip], bool]] = None) -> tuple[Norms, int]:
    """For evaluation: each clip's statistics from its speaker's *other* clips (a seeded random
    order), at most ``budget_s`` seconds (None = all, 0 = prior alone); with ``learn_from``, only
    from the other clips it accepts (e.g. neutral ones). A clip without a speaker falls back to
    statistics from itself. Returns (norms, clips that fell back)."""
    rng = np.random.default_rng(seed)
    out: Norms = {}
    groups = by_speaker(clips, voiced_frames)
    for ids in groups.values():
        order = [ids[k] for k in rng.permutation(len(ids))]
        if learn_from is not None:
            for i in ids:
                blocks = [voiced_frames[j] for j in order if j != i and learn_from(clips[j])]
                out[(i, "clean")] = stats_from(params, prior, blocks, budget_s).norm()
            continue
        if budget_s is None:  # all of the others: in one pass
            for i, stats in zip(order, leave_one_out(params, prior, [voiced_frames[j] for j in order])):
                out[(i, "clean")] = stats.norm()
            continue
        for i in ids:
            blocks = [voiced_frames[j] for j in order if j != i]
            out[(i, "clean")] = stats_from(params, prior, blocks, budget_s).norm()
    fallback = 0
    for i in voiced_frames:
        if (i, "clean") not in out:
            out[(i, "clean")] = stats_from(params, prior, [voiced_frames[i]], budget_s).norm()
            fallback += 1
    return out, fallback

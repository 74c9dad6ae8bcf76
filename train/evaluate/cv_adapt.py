"""`ser-train cv` of a speaker-normalised recipe: each fold's test figures as a device would
have them, cold (the population prior alone), after 30 s of the speaker's speech, with all of
it, and with 30 s of the speaker's neutral speech alone (a speaker who is mostly calm, or
enrols by reading; `ser-edge adapt enrol`).

Each test clip is normalised with statistics from its speaker's *other* test clips
(`ser_train.features.speakers.held_out_norms`: a seeded random order, at most the budget of voiced
speech), so no clip adapts on itself. The fold's main figures (``metrics``) are the "all"
condition; ``adapted`` holds the three. Features come from the training cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ser_train.features.cache import FeatureCache, extract
from ser_train.features.speakers import held_out_norms, voiced_by_clip
from ser_train.features.windows import build_windows

#: condition -> (seconds of voiced speech the statistics may rest on: None = all, 0 = prior alone;
#: whether they learn from the speaker's neutral clips only, as the label set names neutral)
CONDITIONS = {"cold": (0.0, False), "30s": (30.0, False), "all": (None, False), "neutral30s": (30.0, True)}


def adapted_test_figures(predict: Callable, config, data, figures: Callable) -> dict:
    """{condition: figures} for the test clips of ``data`` (a `Prepared` of a speaker_cmvn run).

    ``figures(ids, scores)`` turns clip scores (clip numbers of ``data.clips``) into the cv figures."""
    from ser_train.metrics import aggregate_clip_scores

    out = {}
    for name, windows in condition_windows(config, data).items():
        ids, scores = aggregate_clip_scores(predict(windows.x), windows.clip)
        out[name] = figures(np.asarray(ids), scores)
    return out


def condition_windows(config, data, names=tuple(CONDITIONS)) -> dict:
    """{condition: test windows normalised as a device adapted under it} (conditions without a
    window are left out); window clip numbers are positions in ``data.clips``."""
    at = [i for i, c in enumerate(data.clips) if data.split.part_of(c) == "test"]
    test = [data.clips[i] for i in at]
    features, _ = extract([c.path for c in test], FeatureCache(Path(config.cache_dir), config.params),
                          workers=config.workers, progress=False)
    voiced = voiced_by_clip(test, features)
    neutral = data.label_set.index_of("neutral")  # calm folds into it as in training

    def is_neutral(clip) -> bool:
        return data.label_set.index_of(clip.emotion) == neutral

    out = {}
    for name in names:
        budget, neutral_only = CONDITIONS[name]
        local, _fallback = held_out_norms(test, voiced, config.params, data.prior, budget, seed=config.seed,
                                          learn_from=is_neutral if neutral_only else None)
        norms = {(at[k], variant): norm for (k, variant), norm in local.items()}
        windows = build_windows(test, features, data.label_set, config.params, numbers=at, norms=norms,
                                channels=config.model.channels)
        if len(windows):
            out[name] = windows
    return out

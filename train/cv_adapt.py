"""`ser-train cv` of a speaker-normalised recipe: each fold's test figures as a device would
have them, cold (the population prior alone), after 30 s of the speaker's speech, with all of
it, and with 30 s of the speaker's neutral speech alone (a speaker who is mostly calm, or
enrols by reading; `ser-edge adapt enrol`).

Each test clip is normalised with statistics from its speaker's *other* test clips
(`ser_train.adaptation.held_out_norms`: a seeded random order, at most the budget of voiced
speech), so no clip adapts on itself. The fold's main figures (``metrics``) are the "all"
condition; ``adapted`` holds the three. Features come from the training cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .adaptation import held_out_norms, voiced_by_clip
from .dataset import build_windows
from .features import FeatureCache, extract

def _neutral(clip) -> bool:
    return clip.emotion in ("neutral", "calm")  # calm counts as neutral, as in training


#: condition -> (seconds of voiced speech the statistics may rest on: None = all, 0 = prior alone;
#: which of the speaker's other clips they may learn from: None = any)
CONDITIONS = {"cold": (0.0, None), "30s": (30.0, None), "all": (None, None), "neutral30s": (30.0, _neutral)}


def adapted_test_figures(predict: Callable, config, data, figures: Callable) -> dict:
    """{condition: figures} for the test clips of ``data`` (a `Prepared` of a speaker_cmvn run).

    ``figures(ids, scores)`` turns clip scores (clip numbers of ``data.clips``) into the cv figures."""
    from .metrics import aggregate_clip_scores

    at = [i for i, c in enumerate(data.clips) if data.split.part_of(c) == "test"]
    test = [data.clips[i] for i in at]
    features, _ = extract([c.path for c in test], FeatureCache(Path(config.cache_dir), config.params),
                          workers=config.workers, progress=False)
    voiced = voiced_by_clip(test, features)
    out = {}
    for name, (budget, learn_from) in CONDITIONS.items():
        local, _fallback = held_out_norms(test, voiced, config.params, data.prior, budget, seed=config.seed,
                                          learn_from=learn_from)
        norms = {(at[k], variant): norm for (k, variant), norm in local.items()}
        windows = build_windows(test, features, data.label_set, config.params, numbers=at, norms=norms)
        if len(windows) == 0:
            continue
        ids, scores = aggregate_clip_scores(predict(windows.x), windows.clip)
        out[name] = figures(np.asarray(ids), scores)
    return out

"""Loss weights that keep a few prolific speakers or one big corpus from deciding what is learnt.

Weights are per training window, float32 (n,), mean 1 (`window_weights`).
"""

from __future__ import annotations

import numpy as np

from ser_edge.errors import ConfigError
from ser_train.config import BALANCES
from ser_train.features.windows import WindowSet, class_weights


def window_weights(windows: WindowSet, data, n_classes: int, balance: str) -> np.ndarray:
    """Per-window loss weights (mean 1): classes balanced, and with "+speaker" each
    speaker's windows weigh the same in total, so two prolific speakers (TESS) do
    not outweigh sixteen others. With "+corpus" each corpus weighs the same in total
    (its speakers equally within it) while classes stay balanced: raked, since one
    corpus may lack classes (TurEV-DB has four). ``data``: a `ser_train.fit.prepare.Prepared`."""
    by_class = class_weights(windows.y, n_classes)
    w = np.array([by_class[int(y)] for y in windows.y])
    if balance != "class":
        speakers = np.array([data.clips[i].balance_key for i in windows.clip])  # own data: a file without speaker is one
    if balance == "class+speaker":
        names, inverse, counts = np.unique(speakers, return_inverse=True, return_counts=True)
        w = w * (len(speakers) / (len(names) * counts))[inverse]
    elif balance == "class+speaker+corpus":
        corpora = np.array([data.clips[i].corpus for i in windows.clip])
        w = _rake(windows.y, speakers, corpora)
    elif balance != "class":
        raise ConfigError(f"balance={balance!r} is invalid; allowed: {', '.join(BALANCES)}")
    return (w / w.mean()).astype(np.float32)



def _rake(y: np.ndarray, speakers: np.ndarray, corpora: np.ndarray, rounds: int = 50) -> np.ndarray:
    """Weights (n,) whose class totals are equal and whose speaker totals are
    1/(corpora x speakers of that corpus), by alternating the two scalings
    (iterative proportional fitting); 50 rounds leave both within ~1 %."""
    _, cls = np.unique(y, return_inverse=True)
    names, spk = np.unique(speakers, return_inverse=True)
    corpus_of = {s: c for s, c in zip(speakers, corpora)}
    per_corpus = {c: sum(corpus_of[s] == c for s in names) for c in set(corpora)}
    target_spk = np.array([1.0 / (len(per_corpus) * per_corpus[corpus_of[s]]) for s in names])
    w = np.ones(len(y))
    for _ in range(rounds):
        w *= (1.0 / (cls.max() + 1) / np.bincount(cls, weights=w))[cls]
        w *= (target_spk / np.bincount(spk, weights=w))[spk]
    return w

"""Speaker splits: nobody whose voice the model trained on is used to report its accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ser_edge.errors import ConfigError
from ser_train.data.corpora import Clip


@dataclass(frozen=True)
class SpeakerSplit:
    """Disjoint speaker sets (ids like 'ravdess:03'); test may be empty for a final model."""

    train: frozenset[str]
    validation: frozenset[str]
    test: frozenset[str]

    def part_of(self, clip: Clip) -> str | None:
        for name in ("train", "validation", "test"):
            if clip.speaker in getattr(self, name):
                return name
        return None

    def to_dict(self) -> dict:
        return {k: sorted(getattr(self, k)) for k in ("train", "validation", "test")}


def speaker_ids(names: Iterable[str], corpus: str = "ravdess") -> list[str]:
    """'3', '03' or 'ravdess:03' -> 'ravdess:03' (bare numbers are RAVDESS actors)."""
    out = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if ":" in name:
            out.append(name)
        elif name.isdigit():
            out.append(f"{corpus}:{int(name):02d}")
        else:
            out.append(f"tess:{name}" if name.upper() in ("OAF", "YAF") else name)
    return out


def make_split(speakers: Iterable[str], *, test: Sequence[str], validation: Sequence[str]) -> SpeakerSplit:
    """Named held-out speakers; all other speakers train. Unknown names are an error."""
    everyone = set(speakers)
    test_set, val_set = set(test), set(validation)
    for name in sorted(test_set | val_set):
        if name not in everyone:
            raise ConfigError(f"speaker {name!r} is not in the data; known: {', '.join(sorted(everyone))}")
    if test_set & val_set:
        raise ConfigError(f"speakers in both test and validation: {', '.join(sorted(test_set & val_set))}")
    return SpeakerSplit(frozenset(everyone - test_set - val_set), frozenset(val_set), frozenset(test_set))


def speaker_folds(speakers: Sequence[str], k: int, *, seed: int = 0, n_validation: int = 2) -> list[tuple[list[str], list[str]]]:
    """k folds over ``speakers`` (e.g. the 20 RAVDESS actors): [(test, validation), ...].

    Every speaker is tested exactly once. Validation (early stopping) takes
    ``n_validation`` speakers of the next fold. RAVDESS ids alternate sexes (odd =
    male), so males and females are shuffled separately and dealt in turn, which
    keeps each fold mixed.
    """
    pool = sorted(speakers)
    if not 2 <= k <= len(pool):
        raise ConfigError(f"folds={k} is invalid; allowed: 2 to {len(pool)} for {len(pool)} speakers")
    rng = np.random.default_rng(seed)
    odd = [s for s in pool if s[-1:].isdigit() and int(s[-1]) % 2 == 1]
    rest = [s for s in pool if s not in odd]
    dealt = [str(s) for pair in zip(rng.permutation(odd), rng.permutation(rest)) for s in pair]
    dealt += [s for s in pool if s not in dealt]  # unequal groups: the remainder
    folds = [dealt[i::k] for i in range(k)]
    return [(folds[i], folds[(i + 1) % k][:n_validation]) for i in range(k)]

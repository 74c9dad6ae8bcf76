"""Cross-validation folds over several corpora: who trains, who stops training early, who is tested.

Two kinds (both used by `ser-train cv`):

- ``corpus``: leave one corpus out. Each corpus in turn is the test set (all its
  speakers); validation (early stopping) takes a few held-out speakers of each other
  corpus (`validation_count`); everyone else trains. The closest thing here to a
  room, microphone, language and speaker the model has never met.
- ``speaker``: k folds over the speakers of every corpus with at least
  `MIN_TEST_SPEAKERS` speakers, dealt stratified by corpus and sex so each fold
  mixes corpora and sexes. Corpora with fewer speakers (TESS: 2) always train:
  they prove nothing about unseen speakers. Validation takes speakers of the next
  fold(s), per corpus.

Speakers are ids like ``ravdess:03`` (`ser_train.data.corpora.Clip.speaker`). A fold
never has a speaker in two parts; in a corpus fold the test corpus has no speaker
in training or validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Set

import numpy as np

from ser_edge.errors import ConfigError
from ser_train.data.corpora import CORPORA

MIN_TEST_SPEAKERS = 4  # a corpus with fewer speakers always trains in speaker folds, never validates
FOLD_KINDS = ("corpus", "speaker")

# Speaker sex where the corpus documents it (None: unknown, e.g. TurEV-DB, CREMA-D).
_EMODB_MALE = {"03", "10", "11", "12", "15"}
_NEMO_FEMALE = {"EB0", "IC0", "KD0", "MK0"}  # nEMO's data.tsv: the other five are male


@dataclass(frozen=True)
class Fold:
    """One fold: speaker ids per part, sorted."""

    name: str  # "corpus-emovo", "speaker-2"
    kind: str  # "corpus" or "speaker"
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "kind": self.kind}
        for part in ("train", "validation", "test"):
            out[part] = {"speakers": list(getattr(self, part)), "corpora": corpora_of(getattr(self, part))}
        return out


def corpus_of(speaker: str) -> str:
    return speaker.split(":", 1)[0]


def corpora_of(speakers: Sequence[str]) -> list[str]:
    """The corpora of ``speakers``, known corpora first in `CORPORA` order."""
    names = {corpus_of(s) for s in speakers}
    return sorted(names, key=lambda c: (CORPORA.index(c), "") if c in CORPORA else (len(CORPORA), c))


def speaker_sex(speaker: str) -> Optional[str]:
    """"m", "f" or None (unknown) from the corpus's own documentation."""
    corpus, _, name = speaker.partition(":")
    if corpus == "ravdess" and name.isdigit():
        return "m" if int(name) % 2 else "f"  # odd actors are male
    if corpus == "tess":
        return "f"
    if corpus == "emovo" and name[:1] in ("f", "m"):
        return name[0]
    if corpus == "savee":
        return "m"
    if corpus == "emodb":
        return "m" if name in _EMODB_MALE else "f"
    if corpus == "nemo":
        return "f" if name in _NEMO_FEMALE else "m"
    return None


def validation_count(n_speakers: int) -> int:
    """Validation speakers taken from a corpus of ``n_speakers``: 10 % (at least 1), none below 4."""
    return 0 if n_speakers < MIN_TEST_SPEAKERS else max(1, round(n_speakers / 10))


def _by_corpus(speakers: Sequence[str]) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for s in sorted(speakers):
        out.setdefault(corpus_of(s), []).append(s)
    return {c: out[c] for c in corpora_of(list(speakers))}


def _mixed(speakers: Sequence[str], coverage: Mapping[str, Set]) -> List[str]:
    """Speakers with the most classes first, then sexes alternating (m, f, unknown), in given order."""
    groups: Dict[Optional[str], List[str]] = {}
    for s in speakers:
        groups.setdefault(speaker_sex(s), []).append(s)
    order = [s for round_ in _zip_longest(list(groups.values())) for s in round_]
    return sorted(order, key=lambda s: -len(coverage.get(s, ())))  # stable: keeps the sex order within a tie


def _zip_longest(lists: List[List[str]]) -> List[List[str]]:
    return [[lst[i] for lst in lists if i < len(lst)] for i in range(max((len(x) for x in lists), default=0))]


def corpus_folds(speakers: Sequence[str], coverage: Mapping[str, Set], *, seed: int = 0) -> List[Fold]:
    """Leave-one-corpus-out folds, one per corpus; ``coverage`` maps speaker -> its classes
    (validation prefers speakers who have every class of their corpus)."""
    groups = _by_corpus(speakers)
    if len(groups) < 2:
        raise ConfigError(f"leave-one-corpus-out needs at least 2 corpora; the data has {', '.join(groups) or 'none'}")
    rng = np.random.default_rng(seed)
    shuffled = {c: [str(s) for s in rng.permutation(members)] for c, members in groups.items()}
    folds = []
    for held_out in groups:
        validation: List[str] = []
        for corpus, members in shuffled.items():
            if corpus != held_out:
                validation += _mixed(members, coverage)[: validation_count(len(members))]
        if not validation:  # only tiny corpora left: take one speaker of the largest
            largest = max((c for c in groups if c != held_out), key=lambda c: len(groups[c]))
            if len(groups[largest]) < 2:
                raise ConfigError(f"fold without {held_out}: no speaker can be spared for validation")
            validation = _mixed(shuffled[largest], coverage)[:1]
        test = groups[held_out]
        train = [s for s in speakers if s not in validation and corpus_of(s) != held_out]
        folds.append(Fold(f"corpus-{held_out}", "corpus", tuple(sorted(train)), tuple(sorted(validation)), tuple(test)))
    return folds


def speaker_folds(speakers: Sequence[str], k: int, coverage: Mapping[str, Set], *, seed: int = 0) -> List[Fold]:
    """k speaker folds over all corpora (see the module docstring); every testable speaker is tested once."""
    groups = _by_corpus(speakers)
    testable = {c: m for c, m in groups.items() if len(m) >= MIN_TEST_SPEAKERS}
    n = sum(len(m) for m in testable.values())
    if not 2 <= k <= n:
        raise ConfigError(f"folds={k} is invalid; allowed: 2 to {n} for {n} speakers in corpora with at least "
                          f"{MIN_TEST_SPEAKERS} speakers")
    rng = np.random.default_rng(seed)
    dealt: List[List[str]] = [[] for _ in range(k)]
    turn = 0
    for corpus, members in testable.items():  # strata: (corpus, sex), dealt in turn across folds
        for sex in ("f", "m", None):
            stratum = [s for s in members if speaker_sex(s) == sex]
            for s in rng.permutation(stratum) if stratum else []:
                dealt[turn % k].append(str(s))
                turn += 1
    folds = []
    for i, test in enumerate(dealt):
        validation: List[str] = []
        for corpus, members in testable.items():
            want = validation_count(len(members))
            later = [s for j in range(1, k) for s in _mixed([x for x in dealt[(i + j) % k] if corpus_of(x) == corpus], coverage)]
            validation += sorted(later, key=lambda s: -len(coverage.get(s, ())))[:want]  # next fold first, full coverage first
        train = [s for s in speakers if s not in test and s not in validation]
        folds.append(Fold(f"speaker-{i}", "speaker", tuple(sorted(train)), tuple(sorted(validation)), tuple(sorted(test))))
    return folds

"""Label sets: which canonical emotions a model predicts, and in what order.

The corpus parsers (`ser_train.data.corpora`) give every clip one *canonical emotion*
name from `EMOTIONS`, whatever the corpus calls it (TESS "ps", EmoDB "W"...). A
`LabelSet` then maps each canonical emotion to one output label, or to None when
the emotion is outside the set: such clips are left out of training, and callers
count them so a summary can say how many were dropped and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Dict, Mapping, Optional, Tuple

from ser_edge.errors import ConfigError

#: Every emotion a corpus parser may return. Corpus-specific names (TESS
#: "pleasant surprise", RAVDESS "calm"...) are resolved by the parsers.
EMOTIONS: Tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
    "boredom",
)

DEFAULT_LABEL_SET = "7class"


@dataclass(frozen=True)
class LabelSet:
    """A named set of output labels and the map from canonical emotions to them.

    ``labels`` is in model output order. ``mapping`` holds every name in
    `EMOTIONS`; a value of None means "outside this set".
    """

    name: str
    labels: Tuple[str, ...]
    mapping: Mapping[str, Optional[str]] = field(hash=False)

    def __post_init__(self) -> None:
        _check(self)
        # A read-only view, so a shared label set cannot be changed by a caller.
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))

    def label_of(self, emotion: str) -> Optional[str]:
        """The output label for a canonical emotion; None if outside the set."""
        if emotion not in self.mapping:
            raise ConfigError(f"unknown emotion {emotion!r}; canonical emotions are: {', '.join(EMOTIONS)}")
        return self.mapping[emotion]

    def index_of(self, emotion: str) -> Optional[int]:
        """The output index for a canonical emotion; None if outside the set."""
        label = self.label_of(emotion)
        return None if label is None else self.labels.index(label)

    def excluded(self) -> Tuple[str, ...]:
        """The canonical emotions this set leaves out, in `EMOTIONS` order."""
        return tuple(e for e in EMOTIONS if self.mapping[e] is None)


def _check(label_set: LabelSet) -> None:
    """Raise ConfigError unless the set is complete and self-consistent."""
    where = f"label set {label_set.name!r}"
    if len(set(label_set.labels)) != len(label_set.labels) or not label_set.labels:
        raise ConfigError(f"{where}: labels must be non-empty and unique, got {label_set.labels}")
    keys = set(label_set.mapping)
    if keys != set(EMOTIONS):
        raise ConfigError(
            f"{where}: mapping must cover exactly the canonical emotions; "
            f"missing {sorted(set(EMOTIONS) - keys)}, unknown {sorted(keys - set(EMOTIONS))}"
        )
    targets = {v for v in label_set.mapping.values() if v is not None}
    if targets - set(label_set.labels):
        raise ConfigError(f"{where}: mapping targets {sorted(targets - set(label_set.labels))} are not labels")
    if set(label_set.labels) - targets:
        raise ConfigError(f"{where}: labels {sorted(set(label_set.labels) - targets)} are never produced")


def _make(name: str, labels: Tuple[str, ...], folds: Dict[str, str]) -> LabelSet:
    """A set where each label maps to itself, ``folds`` adds merges, the rest is excluded."""
    mapping: Dict[str, Optional[str]] = {e: None for e in EMOTIONS}
    mapping.update({label: label for label in labels})
    mapping.update(folds)
    return LabelSet(name, labels, mapping)


_LABEL_SETS: Dict[str, LabelSet] = {
    s.name: s
    for s in (
        # Calm (RAVDESS, TurEV-DB) is too close to neutral to learn apart; boredom
        # (EmoDB only) has too few clips to be a class of its own.
        _make(
            "7class",
            ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
            {"calm": "neutral"},
        ),
        _make("4class", ("neutral", "happy", "sad", "angry"), {"calm": "neutral"}),
    )
}

#: Read-only registry of the built-in label sets, by name.
LABEL_SETS: Mapping[str, LabelSet] = MappingProxyType(_LABEL_SETS)


def label_set_names() -> Tuple[str, ...]:
    """The names `get_label_set` accepts."""
    return tuple(LABEL_SETS)


def get_label_set(name: str = DEFAULT_LABEL_SET) -> LabelSet:
    """The built-in label set called ``name``; ConfigError names the allowed ones."""
    try:
        return LABEL_SETS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable value from a config file
        raise ConfigError(
            f"unknown label set {name!r}; allowed: {', '.join(label_set_names())}"
        ) from None


# --- label words of own data (CSV ``label`` column, label-named folders) --------------

_ALIAS_WORDS: Dict[str, Tuple[str, ...]] = {
    # canonical emotion: English words, then the corpora's own words and codes
    # (CREMA-D, EMOVO Italian, TurEV-DB Turkish, EmoDB German, TESS, SAVEE two-letter).
    "neutral": ("neutral", "neu", "neutro", "notr", "nötr"),
    "calm": ("calm", "calmness", "sakin", "sk"),
    "happy": ("happy", "happiness", "joy", "joyful", "hap", "gioia", "gio", "mutlu", "mt", "freude"),
    "sad": ("sad", "sadness", "sa", "tristezza", "tri", "triste", "huzunlu", "hüzünlü", "hl", "trauer"),
    "angry": ("angry", "anger", "ang", "rabbia", "rab", "kizgin", "kızgın", "kz", "wut", "ärger"),
    "fearful": ("fearful", "fear", "fea", "afraid", "paura", "pau", "angst"),
    "disgust": ("disgust", "disgusted", "dis", "disgusto", "ekel"),
    "surprised": ("surprised", "surprise", "sur", "su", "ps", "pleasant surprise", "pleasant surprised",
                  "pleasantly surprised", "sorpresa", "sor", "überraschung"),
    "boredom": ("boredom", "bored", "langeweile"),
}


def _normal(word: str) -> str:
    """Case-insensitive, and ``_``/``-``/runs of spaces all read as one space."""
    return " ".join(word.casefold().replace("_", " ").replace("-", " ").split())


#: Label word (normalised by `_normal`) -> canonical emotion. One-letter corpus codes
#: (SAVEE ``a`` anger, EmoDB ``A`` Angst = fear...) are ambiguous and deliberately absent.
ALIASES: Mapping[str, str] = MappingProxyType(
    {_normal(w): emotion for emotion, words in _ALIAS_WORDS.items() for w in words})


def emotion_of_word(word: str) -> Optional[str]:
    """The canonical emotion a label word names (``"Anger"``, ``"pleasant_surprise"``, ``"rab"``), or None."""
    return ALIASES.get(_normal(word))

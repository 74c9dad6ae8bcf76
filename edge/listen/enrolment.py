"""Enrolment: labelled clips of the device's own speaker, as the personal head uses them.

A clip becomes one `EnrolledClip`: its label, its `ser_edge.model.personal.head_vector` (the
clip's functionals over its speech span, `ser_edge.frontend.functionals.segment_vector`, as the
utterance decider computes them for a stretch of speech, then the log of the bundle's decision),
its length and voiced length, and where it came from. An `Enrolment` is the list of them for one
bundle (by its model's sha256): `head` gives the `PersonalHead` that moves the bundle's scores.

Checks (`check_clip`): the label must be one of the bundle's, and the clip must hold at least
`MIN_VOICED_S` seconds of speech as the voice gate hears it. A class holds at most
`MAX_CLIPS_PER_LABEL` clips (the oldest go first), so an enrolment stays small.

Hooks for the decisions (`personal_probabilities`, `personal_decision`): a file's decision with
the file's functionals (`ser_edge.listen.recognizer`), an utterance's with its own
(`ser_edge.listen.utterances.Decision.vector`, in classify and in the listener) pass through the
personal head; without an active enrolment they stay the bundle's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ser_edge.errors import AudioError, ConfigError, shown
from ser_edge.model.personal import MIN_CLASSES, MIN_CLIPS, PersonalHead, head_vector

#: speech a clip must hold to be enrolled, s (voiced hops as the voice gate hears them)
MIN_VOICED_S = 2.0
#: longest clip taken, s: a clip is one emotion, not a recording session
MAX_CLIP_S = 60.0
#: clips kept per label; a new one beyond it replaces the oldest
MAX_CLIPS_PER_LABEL = 20


@dataclass(frozen=True)
class EnrolledClip:
    """label; vector (D,) float64 (`head_vector`); seconds and voiced_s (s); source (a file name or
    "audio") and its sha256 ('' if none); added (s since the epoch)."""

    label: str
    vector: np.ndarray
    seconds: float
    voiced_s: float
    source: str = "audio"
    added: float = field(default_factory=time.time)
    source_sha256: str = ""


def check_clip(label: str, labels: Sequence[str], voiced_s: float, seconds: float, name: str) -> None:
    """ConfigError for a label the bundle lacks; AudioError naming ``name`` for a clip that is too
    long, has no speech, or less than `MIN_VOICED_S` of it (``voiced_s``, ``seconds``: s)."""
    if label not in labels:
        raise ConfigError(f"label {label!r} is not one of this model's; allowed: {', '.join(labels)}")
    if seconds > MAX_CLIP_S:
        raise AudioError(f"{shown(name)}: {seconds:.0f} s is too long for one clip (at most {MAX_CLIP_S:g} s: one "
                         "emotion per clip; cut it)")
    if voiced_s == 0:
        raise AudioError(f"{shown(name)}: no speech found ({seconds:.1f} s of audio); enrol clips of the user speaking")
    if voiced_s < MIN_VOICED_S:
        raise AudioError(f"{shown(name)}: {voiced_s:.1f} s of speech is too short (at least {MIN_VOICED_S:g} s of speech)")


def make_clip(label: str, functionals: np.ndarray, probabilities: np.ndarray, seconds: float, voiced_s: float,
              source: str = "audio") -> EnrolledClip:
    """The clip as enrolment keeps it (checked by `check_clip` first): ``functionals`` (d,) its
    `segment_vector`, ``probabilities`` (classes,) the bundle's decision on it."""
    return EnrolledClip(label, head_vector(functionals, probabilities), round(seconds, 3), round(voiced_s, 3), source)


class Enrolment:
    """The enrolled clips of one bundle (``bundle_sha256``) with ``labels``."""

    def __init__(self, labels: Sequence[str], bundle_sha256: str, clips: Sequence[EnrolledClip] = ()):
        self.labels, self.bundle_sha256 = tuple(labels), bundle_sha256
        self.clips: list[EnrolledClip] = list(clips)
        self._head: Optional[PersonalHead] = None

    def add(self, clip: EnrolledClip) -> None:
        """Add a clip; a label at `MAX_CLIPS_PER_LABEL` loses its oldest clip."""
        mine = [c for c in self.clips if c.label == clip.label]
        if len(mine) >= MAX_CLIPS_PER_LABEL:
            oldest = min(mine, key=lambda c: c.added)
            self.clips.remove(oldest)
        self.clips.append(clip)
        self._head = None

    def reset(self, label: Optional[str] = None) -> int:
        """Forget every clip (or those of ``label``); how many went."""
        if label is not None and label not in self.labels:
            raise ConfigError(f"label {label!r} is not one of this model's; allowed: {', '.join(self.labels)}")
        before = len(self.clips)
        self.clips = [c for c in self.clips if label is not None and c.label != label]
        self._head = None
        return before - len(self.clips)

    def head(self) -> PersonalHead:
        """The personal head of the clips (built once per change)."""
        if self._head is None:
            n = len(self.labels)
            x = np.array([c.vector for c in self.clips]).reshape(len(self.clips), -1) if self.clips else np.zeros((0, n + 1))
            self._head = PersonalHead(x, [self.labels.index(c.label) for c in self.clips], n)
        return self._head

    @property
    def active(self) -> bool:
        return bool(self.clips) and self.head().active

    def summary(self) -> dict:
        """{"active", "clips", "classes": {label: {"clips", "seconds", "speech_s"}}, "needs"}."""
        classes = {}
        for label in self.labels:
            mine = [c for c in self.clips if c.label == label]
            if mine:
                classes[label] = {"clips": len(mine), "seconds": round(sum(c.seconds for c in mine), 1),
                                  "speech_s": round(sum(c.voiced_s for c in mine), 1)}
        out = {"active": self.active, "clips": len(self.clips), "classes": classes}
        if not self.active:
            out["needs"] = (f"the personal head acts from {MIN_CLIPS} clips of {MIN_CLASSES} or more labels; "
                            "until then the model decides alone")
        return out


def personal_probabilities(enrolment: Optional[Enrolment], functionals: Optional[np.ndarray],
                           probabilities: np.ndarray) -> np.ndarray:
    """(n_classes,) float64: the bundle's ``probabilities`` of a clip or utterance moved by the
    enrolment's personal head given its ``functionals`` (d,) (`segment_vector`), or as they are
    without an active enrolment or functionals."""
    p = np.asarray(probabilities, dtype=np.float64)
    if enrolment is None or functionals is None or not enrolment.active:
        return p
    return enrolment.head().probabilities(head_vector(functionals, p)[None])[0]


def personal_decision(enrolment: Optional[Enrolment], decision):
    """An utterance `Decision` (`ser_edge.listen.utterances`) whose scores the personal head moved
    (float32, as the bundle's), or the same decision without an active enrolment."""
    if enrolment is None or decision.vector is None or not enrolment.active:
        return decision
    scores = personal_probabilities(enrolment, decision.vector, decision.scores)
    return decision._replace(scores=scores.astype(np.float32))

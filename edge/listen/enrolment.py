"""Enrolment: labelled clips of the device's own speaker, as the personal head uses them.

A clip becomes one `EnrolledClip`: its label, its `ser_edge.model.personal.head_vector` (the
clip's functionals from the device front end, then the log of the bundle's clip probabilities),
its length and voiced length, and where it came from. An `Enrolment` is the list of them for one
bundle (by its model's sha256): `head` gives the `PersonalHead` that moves the bundle's scores.

Checks (`check_clip`): the label must be one of the bundle's, and the clip must hold at least
`MIN_VOICED_S` seconds of speech as the voice gate hears it. A class holds at most
`MAX_CLIPS_PER_LABEL` clips (the oldest go first), so an enrolment stays small.

Hook for the listener (`personal_probabilities`): the utterance decision calls it with the
utterance's frames, speech flags, prosody rows and the bundle's clip probabilities.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ser_edge.errors import AudioError, ConfigError, shown
from ser_edge.frontend.functionals import clip_vector
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import PROSODY_COLUMNS, ProsodyExtractor
from ser_edge.frontend.vad import VoiceGate
from ser_edge.model.personal import MIN_CLASSES, MIN_CLIPS, PersonalHead, head_vector

#: speech a clip must hold to be enrolled, s (voiced hops as the voice gate hears them)
MIN_VOICED_S = 2.0
#: longest clip taken, s: a clip is one emotion, not a recording session
MAX_CLIP_S = 60.0
#: clips kept per label; a new one beyond it replaces the oldest
MAX_CLIPS_PER_LABEL = 20


@dataclass(frozen=True)
class ClipFeatures:
    """One clip's frame features: MFCC (n, n_mfcc) float32, speech flags (hops,) bool, prosody
    tracks by name (each (n,) float64) or None when the bundle's front end has none."""

    frames: np.ndarray
    speech: np.ndarray
    prosody: Optional[dict[str, np.ndarray]]

    def voiced_s(self, params: FeatureParams) -> float:
        return float(np.count_nonzero(self.speech)) * params.hop_ms / 1000.0

    def functionals(self, params: FeatureParams) -> np.ndarray:
        """(d,) float64: `ser_edge.frontend.functionals.clip_vector` of the clip."""
        return clip_vector(self.frames, self.speech, self.prosody, params.hop_ms / 1000.0)


def clip_features(samples: np.ndarray, params: FeatureParams) -> ClipFeatures:
    """The device front end on 1-D float32 audio at ``params.sample_rate`` (as training computes it)."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    frames = MfccExtractor(params)(x)
    speech = np.asarray(VoiceGate.from_params(params).push(x), dtype=bool)
    prosody = None
    if params.prosody:
        rows = np.asarray(ProsodyExtractor(params)(x), dtype=np.float64)
        prosody = dict(zip(PROSODY_COLUMNS, rows.T))
    return ClipFeatures(frames, speech, prosody)


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


def check_clip(label: str, labels: Sequence[str], features: ClipFeatures, seconds: float, params: FeatureParams,
               name: str) -> None:
    """ConfigError for a label the bundle lacks; AudioError naming ``name`` for a clip that is too
    long, has no speech, or less than `MIN_VOICED_S` of it."""
    if label not in labels:
        raise ConfigError(f"label {label!r} is not one of this model's; allowed: {', '.join(labels)}")
    if seconds > MAX_CLIP_S:
        raise AudioError(f"{shown(name)}: {seconds:.0f} s is too long for one clip (at most {MAX_CLIP_S:g} s: one "
                         "emotion per clip; cut it)")
    voiced = features.voiced_s(params)
    if voiced == 0:
        raise AudioError(f"{shown(name)}: no speech found ({seconds:.1f} s of audio); enrol clips of the user speaking")
    if voiced < MIN_VOICED_S:
        raise AudioError(f"{shown(name)}: {voiced:.1f} s of speech is too short (at least {MIN_VOICED_S:g} s of speech)")


def make_clip(label: str, features: ClipFeatures, probabilities: np.ndarray, seconds: float, params: FeatureParams,
              source: str = "audio") -> EnrolledClip:
    """The clip as enrolment keeps it (checked by `check_clip` first)."""
    return EnrolledClip(label, head_vector(features.functionals(params), probabilities), round(seconds, 3),
                        round(features.voiced_s(params), 3), source)


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


def personal_probabilities(enrolment: Optional[Enrolment], features: ClipFeatures, probabilities: np.ndarray,
                           params: FeatureParams) -> np.ndarray:
    """(n_classes,) float64: the bundle's clip ``probabilities`` moved by the enrolment's personal
    head, or as they are without an active enrolment. The listener's utterance decision calls this."""
    p = np.asarray(probabilities, dtype=np.float64)
    if enrolment is None or not enrolment.active:
        return p
    vector = head_vector(features.functionals(params), p)
    return enrolment.head().probabilities(vector[None])[0]

"""Whole-file recognition: a whole file or array in, one label with scores out.

The steps are the ones training evaluates a corpus clip with: MFCC frames and speech flags,
the voiced classification windows (those of `ser_edge.frontend.windows.clip_windows`), int8
scores per window, averaged over the windows, and the average's arousal and valence
(`ser_edge.model.circumplex`). Files and arrays stream through `FileScorer` block by block,
so memory stays flat whatever the file's length.

A bundle with an utterance head (`ser_edge.model.utterance`) also decides each stretch of speech
as a whole (`ser_edge.listen.utterances`): the result lists them (`UtteranceResult`) and, with
scope "utterance", the file's decision is their mean weighted by their length, hops counted once (scope "window",
the mean of the windows, where no utterance was long enough to decide).

A speaker-normalised model learns the speaker's statistics as each file streams, from the
prior: per file by default, or carried from file to file by passing the same `Adapter`
(``recognizer.new_adapter()``) to every call, for one speaker's recordings.

With an active enrolment (`enrol`, or ``recognizer.enrolment`` set from the store), the file's
decision (as above) and each utterance's pass through the personal head
(`ser_edge.listen.enrolment`), the file's with the functionals of the whole file's speech span,
each utterance's with its own; so the file's decision is no longer exactly its utterances' mean.
The file's frames are then kept while it is scored (about 17 kB per second of audio).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ser_edge.audio.read import iter_audio, resample, to_mono
from ser_edge.errors import AudioError, ConfigError
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.model.bundle import Bundle
from ser_edge.model.circumplex import affect
from ser_edge.model.load import bundle_of, load_classifier

from .adapter import Adapter, for_bundle
from .enrolment import MIN_VOICED_S, EnrolledClip, Enrolment, check_clip, make_clip, personal_decision, personal_probabilities
from .filescore import FileScorer, FileScores
from .utterances import UtteranceDecider, decision_scopes


@dataclass(frozen=True)
class UtteranceResult:
    """One stretch of speech decided as a whole: its span (s from the file's start), label,
    confidence (0..1), scores per label, and the classified windows it rests on."""

    start_s: float
    end_s: float
    label: str
    confidence: float
    scores: dict[str, float]
    windows: int

    def to_dict(self) -> dict:
        return {"start_s": round(self.start_s, 2), "end_s": round(self.end_s, 2), "label": self.label,
                "confidence": round(self.confidence, 4), "scores": {k: round(v, 4) for k, v in self.scores.items()},
                "windows": self.windows}


@dataclass(frozen=True)
class FileResult:
    """The decision for a whole file or array: label and confidence (0..1), scores per label, windows
    used, voiced share (0..1), duration (s), and the scores' arousal and valence (-1..1; None if the
    model has no circumplex). (`ser_edge.api` also calls it ClipResult.)"""

    label: str
    confidence: float
    scores: dict[str, float]
    windows: int
    voiced: float
    duration_s: float
    arousal: Optional[float] = None
    valence: Optional[float] = None
    adapted_s: Optional[float] = None  # speaker-normalised models: speech the statistics rest on, s
    scope: str = "window"  # what the decision rests on: "window" (mean of windows) or "utterance"
    utterances: tuple[UtteranceResult, ...] = ()  # with an utterance head, oldest first

    def to_dict(self) -> dict:
        out = {"label": self.label, "confidence": round(self.confidence, 4), "scope": self.scope,
               "scores": {k: round(v, 4) for k, v in self.scores.items()},
               "arousal": self.arousal, "valence": self.valence,
               "windows": self.windows, "voiced": round(self.voiced, 3), "duration_s": round(self.duration_s, 3)}
        if self.adapted_s is not None:
            out["adapted_s"] = round(self.adapted_s, 1)
        if self.utterances:
            out["utterances"] = [u.to_dict() for u in self.utterances]
        return out


class Recognizer:
    """Loads and checks a bundle once; classifies many files."""

    def __init__(self, bundle: Optional[Bundle | str | os.PathLike] = None, *, num_threads: int = 1):
        """``bundle``: a Bundle, a bundle folder, a shipped bundle's name, or None (the default model)."""
        self.bundle = bundle = bundle_of(bundle)
        self.params = bundle.params
        self.classifier = load_classifier(bundle, threads=num_threads)
        self.extractor = MfccExtractor(self.params)
        self.circumplex = bundle.circumplex
        self.enrolment = Enrolment(self.labels, bundle.sha256)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.bundle.labels

    def new_adapter(self, mode: str = "on") -> Optional[Adapter]:
        """Fresh speaker statistics (from the prior) to share across calls; None unless speaker-normalised."""
        return for_bundle(self.bundle, mode)

    def classify_array(self, samples: np.ndarray, sample_rate: int, *, name: str = "audio",
                       adapter: Optional[Adapter] = None, scope: str = "auto") -> FileResult:
        """Mono or (frames, channels) float audio at ``sample_rate`` Hz -> one decision.
        ``adapter``: statistics to use and extend (default: fresh ones for this file); ``scope``:
        "window", "utterance" (a bundle with an utterance head), "both" or "auto" (ConfigError if
        not allowed for the bundle)."""
        x = resample(to_mono(samples), sample_rate, self.params.sample_rate)
        block = self.params.sample_rate
        return self._classify_blocks((x[i: i + block] for i in range(0, x.size, block)), name, adapter, scope)

    def classify_file(self, path: str | os.PathLike, *, adapter: Optional[Adapter] = None,
                      scope: str = "auto") -> FileResult:
        """Any supported audio file -> one decision; AudioError naming the file if unreadable.
        The file is read in 1 s blocks: memory does not grow with its length.
        ``adapter``, ``scope``: as for `classify_array`."""
        return self._classify_blocks(iter_audio(path, self.params.sample_rate), str(Path(path)), adapter, scope)

    def enrol(self, label: str, samples: np.ndarray, sample_rate: Optional[int] = None, *,
              name: str = "audio") -> EnrolledClip:
        """Add a clip of the user speaking with emotion ``label`` to ``self.enrolment`` (in memory;
        `ser_edge.service.enrolstore` saves it): mono or (frames, channels) float audio at
        ``sample_rate`` Hz (default the model's). ConfigError for an unknown label, AudioError for a
        clip without at least 2 s of speech or longer than 60 s; nothing is added then."""
        if label not in self.labels:
            raise ConfigError(f"label {label!r} is not one of this model's; allowed: {', '.join(self.labels)}")
        clip = self.enrol_clip(label, resample(to_mono(samples), sample_rate or self.params.sample_rate,
                                               self.params.sample_rate), name)
        self.enrolment.add(clip)
        return clip

    def enrol_clip(self, label: str, x: np.ndarray, name: str) -> EnrolledClip:
        """The `EnrolledClip` of 1-D float32 audio ``x`` at the model rate (checked; not added): its
        functionals over its speech span and the bundle's decision on it (scope auto, fresh
        statistics, no enrolment)."""
        seconds = x.size / self.params.sample_rate
        check_clip(label, self.labels, MIN_VOICED_S, seconds, name)  # the label and length, before any work
        whole, scopes = self._score_blocks(iter([x]), name, None, "auto", keep=True)
        voiced_s = whole.voiced * seconds
        check_clip(label, self.labels, voiced_s, seconds, name)
        assert whole.vector is not None
        return make_clip(label, whole.vector, self._bundle_mean(whole, scopes)[0], seconds, voiced_s, name)

    def _score_blocks(self, blocks, name: str, adapter: Optional[Adapter], scope: str,
                      keep: bool = False) -> tuple[FileScores, tuple[str, ...]]:
        """The file's scores and the decision kinds of ``scope``; ``keep``: with its functionals."""
        scopes = decision_scopes(scope, self.bundle)
        if adapter is None:
            adapter = self.new_adapter()
        head = self.bundle.utterance if "utterance" in scopes else None
        decider = UtteranceDecider.for_adapter(head, self.params, adapter) if head is not None else None
        scorer = FileScorer(self.params, self.classifier.scores_many, adapter=adapter, utterances=decider, keep=keep)
        for block in blocks:
            scorer.push(block)
        whole = scorer.finish()
        if whole.mean is None:
            raise AudioError(f"{name}: {whole.samples / self.params.sample_rate * 1000:.0f} ms of audio is too short "
                             f"(at least {self.params.frame_ms:g} ms)")
        return whole, scopes

    @staticmethod
    def _bundle_mean(whole: FileScores, scopes: tuple[str, ...]) -> tuple[np.ndarray, str]:
        """The bundle's decision on a file and its scope: its utterances' mean, else its windows'."""
        if whole.utterances and scopes != ("window",):
            return utterance_mean(whole), "utterance"
        assert whole.mean is not None
        return whole.mean, "window"

    def _classify_blocks(self, blocks, name: str, adapter: Optional[Adapter], scope: str) -> FileResult:
        if adapter is None:
            adapter = self.new_adapter()
        enrolment = self.enrolment if self.enrolment.active else None
        whole, scopes = self._score_blocks(blocks, name, adapter, scope, keep=enrolment is not None)
        mean, kind = self._bundle_mean(whole, scopes)
        mean = personal_probabilities(enrolment, whole.vector, mean)
        utterances = tuple(self._utterance(personal_decision(enrolment, d)) for d in whole.utterances)
        best = int(np.argmax(mean))
        scores = {k: float(v) for k, v in zip(self.labels, mean)}
        return FileResult(self.labels[best], float(mean[best]), scores, whole.windows, whole.voiced,
                          whole.samples / self.params.sample_rate, **affect(scores, self.circumplex),
                          adapted_s=None if adapter is None else adapter.speech_s, scope=kind, utterances=utterances)

    def _utterance(self, decision) -> UtteranceResult:
        p = self.params
        scores = {k: float(v) for k, v in zip(self.labels, decision.scores)}
        label = max(scores, key=scores.__getitem__)
        end_s = decision.end * p.hop_length / p.sample_rate  # its hops [start, end), as the listener's events
        return UtteranceResult(decision.start * p.hop_length / p.sample_rate, end_s, label, scores[label], scores,
                               decision.windows)


def utterance_mean(scores: FileScores) -> np.ndarray:
    """(classes,) float64: the mean of a file's utterance decisions (oldest first) weighted by the hops
    each adds to those before it: a long utterance's final decision spans its last ``max_s`` and so
    overlaps its last rolling one, whose hops count once."""
    covered, weights = 0, []
    for d in scores.utterances:
        weights.append(max(0, d.end - max(d.start, covered)))
        covered = max(covered, d.end)
    weights = np.array(weights, dtype=np.float64)
    stacked = np.stack([d.scores for d in scores.utterances]).astype(np.float64)
    return (weights[:, None] * stacked).sum(axis=0) / weights.sum()

"""Whole-file recognition: a whole file or array in, one label with scores out.

The steps are the ones training evaluates a corpus clip with: MFCC frames and speech flags,
the voiced classification windows (those of `ser_edge.frontend.windows.clip_windows`), int8
scores per window, averaged over the windows, and the average's arousal and valence
(`ser_edge.model.circumplex`). Files and arrays stream through `FileScorer` block by block,
so memory stays flat whatever the file's length.

A speaker-normalised model learns the speaker's statistics as each file streams, from the
prior: per file by default, or carried from file to file by passing the same `Adapter`
(``recognizer.new_adapter()``) to every call, for one speaker's recordings.

With an enrolment (`enrol`, or ``recognizer.enrolment`` set from the store), each decision is the
bundle's moved by the personal head (`ser_edge.listen.enrolment`); then a file's audio is held
while it is scored (its statistics need all of it: 64 kB per second of audio at 16 kHz).
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
from .enrolment import EnrolledClip, Enrolment, check_clip, clip_features, make_clip, personal_probabilities
from .filescore import FileScorer


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

    def to_dict(self) -> dict:
        out = {"label": self.label, "confidence": round(self.confidence, 4),
               "scores": {k: round(v, 4) for k, v in self.scores.items()},
               "arousal": self.arousal, "valence": self.valence,
               "windows": self.windows, "voiced": round(self.voiced, 3), "duration_s": round(self.duration_s, 3)}
        if self.adapted_s is not None:
            out["adapted_s"] = round(self.adapted_s, 1)
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
                       adapter: Optional[Adapter] = None) -> FileResult:
        """Mono or (frames, channels) float audio at ``sample_rate`` Hz -> one decision.
        ``adapter``: statistics to use and extend (default: fresh ones for this file)."""
        x = resample(to_mono(samples), sample_rate, self.params.sample_rate)
        block = self.params.sample_rate
        return self._classify_blocks((x[i: i + block] for i in range(0, x.size, block)), name, adapter)

    def classify_file(self, path: str | os.PathLike, *, adapter: Optional[Adapter] = None) -> FileResult:
        """Any supported audio file -> one decision; AudioError naming the file if unreadable.
        The file is read in 1 s blocks: memory does not grow with its length.
        ``adapter``: statistics to use and extend (default: fresh ones for this file)."""
        return self._classify_blocks(iter_audio(path, self.params.sample_rate), str(Path(path)), adapter)

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
        """The `EnrolledClip` of 1-D float32 audio ``x`` at the model rate (checked; not added)."""
        seconds = x.size / self.params.sample_rate
        features = clip_features(x, self.params)
        check_clip(label, self.labels, features, seconds, self.params, name)
        whole = self._score_blocks(iter([x]), name, None)
        return make_clip(label, features, whole.mean, seconds, self.params, name)

    def _score_blocks(self, blocks, name: str, adapter: Optional[Adapter]):
        if adapter is None:
            adapter = self.new_adapter()
        scorer = FileScorer(self.params, self.classifier.scores_many, adapter=adapter)
        for block in blocks:
            scorer.push(block)
        whole = scorer.finish()
        if whole.mean is None:
            raise AudioError(f"{name}: {whole.samples / self.params.sample_rate * 1000:.0f} ms of audio is too short "
                             f"(at least {self.params.frame_ms:g} ms)")
        return whole

    def _classify_blocks(self, blocks, name: str, adapter: Optional[Adapter] = None) -> FileResult:
        if adapter is None:
            adapter = self.new_adapter()
        held: Optional[list[np.ndarray]] = [] if self.enrolment.active else None
        if held is not None:
            blocks = _holding(blocks, held)
        whole = self._score_blocks(blocks, name, adapter)
        mean = whole.mean
        if held is not None:
            features = clip_features(np.concatenate(held) if held else np.zeros(0, np.float32), self.params)
            mean = personal_probabilities(self.enrolment, features, mean, self.params)
        best = int(np.argmax(mean))
        scores = {k: float(v) for k, v in zip(self.labels, mean)}
        return FileResult(self.labels[best], float(mean[best]), scores, whole.windows, whole.voiced,
                          whole.samples / self.params.sample_rate, **affect(scores, self.circumplex),
                          adapted_s=None if adapter is None else adapter.speech_s)


def _holding(blocks, held: list):
    """The blocks as they come, each also kept in ``held``."""
    for block in blocks:
        held.append(np.asarray(block, dtype=np.float32).reshape(-1))
        yield block

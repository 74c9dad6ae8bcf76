"""Clip-level recognition: a whole array or file in, one label with scores out.

The steps are the ones training evaluates with: MFCC frames and speech flags for
the clip, its voiced classification windows (those of `ser_edge.frontend.windows.clip_windows`),
int8 scores per window, averaged over the windows. Files and arrays stream through
`ClipScorer` block by block, so memory stays flat whatever the clip's length.

A speaker-normalised model learns the speaker's statistics as each clip streams, from the
prior: per clip by default, or carried from clip to clip by passing the same `Adapter`
(``recognizer.new_adapter()``) to every call, for one speaker's recordings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ser_edge.audio.read import iter_audio, resample, to_mono
from ser_edge.model.bundle import Bundle, load_bundle
from ser_edge.model.classifier import Classifier
from .adapter import Adapter, for_bundle
from .clipstream import ClipScorer
from ser_edge.errors import AudioError
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.model.shipped import default_bundle_path


@dataclass(frozen=True)
class ClipResult:
    """label and confidence (0..1), scores per label, windows used, voiced share of the clip."""

    label: str
    confidence: float
    scores: dict[str, float]
    windows: int
    voiced: float
    duration_s: float
    adapted_s: Optional[float] = None  # speaker-normalised models: speech the statistics rest on, s

    def to_dict(self) -> dict:
        out = {"label": self.label, "confidence": round(self.confidence, 4),
               "scores": {k: round(v, 4) for k, v in self.scores.items()},
               "windows": self.windows, "voiced": round(self.voiced, 3), "duration_s": round(self.duration_s, 3)}
        if self.adapted_s is not None:
            out["adapted_s"] = round(self.adapted_s, 1)
        return out


class Recognizer:
    """Loads and checks a bundle once; classifies many clips."""

    def __init__(self, bundle: Optional[Bundle | str | os.PathLike] = None, *, num_threads: int = 1):
        if not isinstance(bundle, Bundle):
            bundle = load_bundle(bundle if bundle is not None else default_bundle_path())
        self.bundle = bundle
        self.params = bundle.params
        self.classifier = Classifier(bundle, num_threads=num_threads)
        self.extractor = MfccExtractor(self.params)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.bundle.labels

    def new_adapter(self, mode: str = "on") -> Optional[Adapter]:
        """Fresh speaker statistics (from the prior) to share across calls; None unless speaker-normalised."""
        return for_bundle(self.bundle, mode)

    def classify_array(self, samples: np.ndarray, sample_rate: int, *, name: str = "audio",
                       adapter: Optional[Adapter] = None) -> ClipResult:
        """Mono or (frames, channels) float audio at ``sample_rate`` Hz -> one decision.
        ``adapter``: statistics to use and extend (default: fresh ones for this clip)."""
        x = resample(to_mono(samples), sample_rate, self.params.sample_rate)
        block = self.params.sample_rate
        return self._classify_blocks((x[i: i + block] for i in range(0, x.size, block)), name, adapter)

    def classify_file(self, path: str | os.PathLike, *, adapter: Optional[Adapter] = None) -> ClipResult:
        """Any supported audio file -> one decision; AudioError naming the file if unreadable.
        The file is read in 1 s blocks: memory does not grow with its length.
        ``adapter``: statistics to use and extend (default: fresh ones for this file)."""
        return self._classify_blocks(iter_audio(path, self.params.sample_rate), str(Path(path)), adapter)

    def _classify_blocks(self, blocks, name: str, adapter: Optional[Adapter] = None) -> ClipResult:
        if adapter is None:
            adapter = self.new_adapter()
        scorer = ClipScorer(self.params, self.classifier.scores_many, adapter=adapter)
        for block in blocks:
            scorer.push(block)
        clip = scorer.finish()
        if clip.mean is None:
            raise AudioError(f"{name}: {clip.samples / self.params.sample_rate * 1000:.0f} ms of audio is too short "
                             f"(at least {self.params.frame_ms:g} ms)")
        best = int(np.argmax(clip.mean))
        return ClipResult(self.labels[best], float(clip.mean[best]), {k: float(v) for k, v in zip(self.labels, clip.mean)},
                          clip.windows, clip.voiced, clip.samples / self.params.sample_rate,
                          None if adapter is None else adapter.speech_s)

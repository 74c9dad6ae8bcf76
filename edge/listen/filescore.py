"""One decision for a whole file (or array), in bounded memory: audio blocks in, mean window scores out.

It picks the same windows as `ser_edge.frontend.windows.clip_windows` (the windows with enough
speech; else the single most voiced one; a file shorter than one window repeated to fill
it), but finds them as the audio streams and keeps only a running sum of their scores,
so an hour-long file needs no more memory than a three-second one.

With an `Adapter` (speaker-normalised models) the statistics learn from the file's voiced
hops in whole segments as in the pipeline (`learn_segments`); each window uses those of
the segments before its end, a file shorter than one window those of the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.normalise import voiced
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.vad import VoiceGate
from ser_edge.frontend.windows import cut_windows, fit_to_window, normalise_window, voiced_fraction

from .adapter import Adapter, learn_segments

#: (k, window_frames, n_mfcc) float32 normalised windows -> (k, classes) float32 scores
ScoreFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FileScores:
    """mean: (classes,) float64 mean score of the chosen windows; windows: how many;
    voiced: speech share of the file's hops (0..1); samples: audio length in samples."""

    mean: Optional[np.ndarray]
    windows: int
    voiced: float
    samples: int


class FileScorer:
    """Push 1-D float32 blocks at ``params.sample_rate``; `finish` gives the file's scores.

    Memory: one window of frames and flags plus a block, whatever the file's length.
    """

    def __init__(self, params: FeatureParams, score: ScoreFn, *, min_voiced: float = 0.5,
                 adapter: Optional[Adapter] = None):
        self.params, self._score, self.min_voiced, self.adapter = params, score, min_voiced, adapter
        self._learned = 0  # hop up to which the adapter has learnt
        self._mfcc = MfccExtractor(params).stream()
        self._gate = VoiceGate.from_params(params)
        self._frames = np.zeros((0, params.n_mfcc), np.float32)  # frames from frame index _offset on
        self._flags = np.zeros(0, bool)  # speech flags (one per hop) from hop index _offset on
        self._offset = 0
        self._next_start = 0  # frame index where the next window starts
        self._sum: Optional[np.ndarray] = None  # summed scores of the windows kept
        self._kept = 0
        self._best: tuple[float, Optional[np.ndarray]] = (-1.0, None)  # first most voiced window
        self._samples = self._hops = self._speech_hops = 0

    def push(self, block: np.ndarray) -> None:
        """Add samples: 1-D float32 audio at the model rate, any length."""
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        self._samples += x.size
        flags = self._gate.push(x)
        self._hops += flags.size
        self._speech_hops += int(flags.sum())
        self._frames = np.concatenate([self._frames, self._mfcc.push(x)])
        self._flags = np.concatenate([self._flags, flags])
        self._score_ready_windows()

    def finish(self) -> FileScores:
        """The file's mean scores (None when it had no whole frame) and what they came from."""
        voiced_share = self._speech_hops / self._hops if self._hops else 0.0
        self._learn_rest()
        if self._kept:
            return FileScores(self._sum / self._kept, self._kept, voiced_share, self._samples)
        if self._best[1] is not None:
            return FileScores(self._best[1].astype(np.float64), 1, voiced_share, self._samples)
        if self._frames.shape[0] == 0:
            return FileScores(None, 0, voiced_share, self._samples)
        norm = self.adapter.norm() if self.adapter is not None else None
        short = normalise_window(fit_to_window(self._frames, self.params), self.params, norm)[None]  # shorter than a window
        return FileScores(self._score(short)[0].astype(np.float64), 1, voiced_share, self._samples)

    def _learn_rest(self) -> None:
        """End of file: the adapter learns the frames not yet learnt (whole segments, then the tail)."""
        if self.adapter is None:
            return
        end = self._offset + self._frames.shape[0]
        self._learned = learn_segments(self.adapter, self._frames, self._flags, self._offset, self._learned, end)
        rest = slice(self._learned - self._offset, None)
        self.adapter.learn(voiced(self._frames[rest], self._flags[rest]))
        self._learned = end

    def _cut(self, starts: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Normalised windows at frame indices ``starts`` and their voiced fractions (as `cut_windows`;
        with an adapter, each window with the statistics of the segments before its end)."""
        if self.adapter is None:
            return cut_windows(self._frames, self._flags, [s - self._offset for s in starts], self.params)
        p, out = self.params, []
        for start in starts:
            rows = self._frames[start - self._offset: start - self._offset + p.window_frames]
            self._learned = learn_segments(self.adapter, self._frames, self._flags, self._offset, self._learned,
                                           start + p.window_frames)
            out.append(normalise_window(rows, p, self.adapter.norm()))
        fractions = np.array([voiced_fraction(self._flags, s - self._offset, p) for s in starts])
        return np.stack(out), fractions

    def _score_ready_windows(self) -> None:
        size, hop = self.params.window_frames, self.params.window_hop_frames
        end = self._offset + self._frames.shape[0]
        starts = list(range(self._next_start, end - size + 1, hop))
        if not starts:
            return
        windows, fractions = self._cut(starts)
        scores = self._score(windows)
        keep = fractions >= self.min_voiced
        if keep.any():
            total = scores[keep].astype(np.float64).sum(axis=0)
            self._sum = total if self._sum is None else self._sum + total
            self._kept += int(keep.sum())
        best = int(np.argmax(fractions))  # the first of the most voiced
        if fractions[best] > self._best[0]:
            self._best = (float(fractions[best]), scores[best])
        self._next_start = starts[-1] + hop
        drop = (self._next_start if self.adapter is None else min(self._next_start, self._learned)) - self._offset
        self._frames, self._flags = self._frames[drop:], self._flags[drop:]
        self._offset += drop

"""One decision for a whole file (or array), in bounded memory: audio blocks in, mean window scores out.

It picks the same windows as `ser_edge.frontend.windows.clip_windows` (the windows with enough
speech; else the single most voiced one; a file shorter than one window repeated to fill
it), but finds them as the audio streams and keeps only a running sum of their scores,
so an hour-long file needs no more memory than a three-second one.

Frames, flags and the adapter cursor live in a `ser_edge.listen.frames.FrameBuffer`, the
listener's own: the scorer differs from the pipeline only in which of the buffer's windows it
scores (all of them, keeping those voiced enough). With an `Adapter` (speaker-normalised models)
the statistics learn from the file's voiced hops in whole segments as in the pipeline
(`FrameBuffer.learn`); each window uses those of the segments before its end, a file shorter
than one window those of the whole file.

With an `UtteranceDecider` (a bundle with an utterance head), each stretch of speech is also
decided as a whole when it ends (a long one every ``max_s``), from the scores of the kept windows
whose last hop is speech in it: `FileScores.utterances`, oldest first.

With ``keep`` (an enrolment: the personal head needs the whole file's functionals) the frames,
flags and prosody rows of the whole file are kept (about 17 kB per second of audio) and
`FileScores.vector` is their `ser_edge.frontend.functionals.segment_vector`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ser_edge.frontend.functionals import segment_vector
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import ProsodyExtractor
from ser_edge.frontend.windows import fit_to_window, normalise_window

from .adapter import Adapter
from .frames import FrameBuffer
from .utterances import PROSODY, Decision, UtteranceDecider

#: (k, window_frames, n_mfcc) float32 normalised windows -> (k, classes) float32 scores
ScoreFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FileScores:
    """mean: (classes,) float64 mean score of the chosen windows; windows: how many;
    voiced: speech share of the file's hops (0..1); samples: audio length in samples; utterances:
    their decisions; vector: the file's functionals (d,) float64 (only with ``keep``)."""

    mean: Optional[np.ndarray]
    windows: int
    voiced: float
    samples: int
    utterances: tuple[Decision, ...] = ()
    vector: Optional[np.ndarray] = None


class FileScorer:
    """Push 1-D float32 blocks at ``params.sample_rate``; `finish` gives the file's scores.

    Memory: one window of frames and flags plus a block, whatever the file's length.
    """

    def __init__(self, params: FeatureParams, score: ScoreFn, *, min_voiced: float = 0.5,
                 adapter: Optional[Adapter] = None, utterances: Optional[UtteranceDecider] = None, keep: bool = False):
        self.params, self._score, self.min_voiced, self.adapter = params, score, min_voiced, adapter
        self._decider, self._decisions, self._walked, self.keep = utterances, [], 0, keep
        self._ends: dict[int, np.ndarray] = {}  # last hop -> scores of kept windows not yet walked past
        prosody = (utterances is not None or keep) and params.prosody
        tracks = {PROSODY: ProsodyExtractor(params).stream()} if prosody else None
        self._buffer = FrameBuffer(params, adapter=adapter, tracks=tracks)
        self._sum: Optional[np.ndarray] = None  # summed scores of the windows kept
        self._kept = 0
        self._best: tuple[float, Optional[np.ndarray]] = (-1.0, None)  # first most voiced window

    def push(self, block: np.ndarray) -> None:
        """Add samples: 1-D float32 audio at the model rate, any length."""
        self._buffer.push(np.asarray(block, dtype=np.float32).reshape(-1))
        starts = self._buffer.due_windows()
        if starts:
            self._score_windows(starts)
        if self._decider is not None:
            self._walk(self._buffer.ready)
        if not self.keep:
            self._buffer.trim(None if self._decider is None else self._decider.keep_from(self._buffer.ready))

    def finish(self) -> FileScores:
        """The file's mean scores (None when it had no whole frame) and what they came from."""
        buffer = self._buffer
        voiced_share = buffer.speech_hops / buffer.flags_end if buffer.flags_end else 0.0
        if self._decider is not None:
            self._walk(buffer.flags_end)
            self._close(buffer.flags_end)
        utterances, vector = tuple(self._decisions), self._vector()
        buffer.learn_rest()
        if self._kept:
            return FileScores(self._sum / self._kept, self._kept, voiced_share, buffer.samples, utterances, vector)
        if self._best[1] is not None:
            return FileScores(self._best[1].astype(np.float64), 1, voiced_share, buffer.samples, vector=vector)
        frames = buffer.frames()  # every frame: no window was whole, so none was trimmed
        if frames.shape[0] == 0:
            return FileScores(None, 0, voiced_share, buffer.samples)
        norm = self.adapter.norm() if self.adapter is not None else None
        short = normalise_window(fit_to_window(frames, self.params), self.params, norm)[None]  # shorter than a window
        return FileScores(self._score(short)[0].astype(np.float64), 1, voiced_share, buffer.samples, vector=vector)

    def _vector(self) -> Optional[np.ndarray]:
        """The whole file's `segment_vector` (with ``keep``; None without, or without a frame)."""
        buffer = self._buffer
        if not self.keep or buffer.frames().shape[0] == 0:
            return None
        prosody = buffer.rows(PROSODY) if self.params.prosody else None
        return segment_vector(buffer.frames(), buffer.flags(), prosody, self.params)

    def _score_windows(self, starts: list[int]) -> None:
        """Score the windows at hops ``starts``; sum those voiced enough, remember the most voiced."""
        windows, fractions = self._buffer.windows(starts)
        scores = self._score(windows)
        keep = fractions >= self.min_voiced
        if self._decider is not None:
            for start, kept, scores_one in zip(starts, keep, scores):
                if kept:
                    self._ends[start + self.params.window_frames - 1] = scores_one
        if keep.any():
            total = scores[keep].astype(np.float64).sum(axis=0)
            self._sum = total if self._sum is None else self._sum + total
            self._kept += int(keep.sum())
        best = int(np.argmax(fractions))  # the first of the most voiced
        if fractions[best] > self._best[0]:
            self._best = (float(fractions[best]), scores[best])

    def _walk(self, until: int) -> None:
        """Follow the speech flags over hops [walked, until): open, feed and close utterances."""
        decider, flags = self._decider, self._buffer.flags(self._walked, until)
        assert decider is not None
        for j, flag in zip(range(self._walked, until), flags.tolist()):
            if flag and not decider.open:
                decider.begin(j)
            elif not flag and decider.open:
                self._close(j)
            scores = self._ends.pop(j, None)
            if flag and scores is not None:
                decider.add(j, scores)
            if decider.open and j + 1 - decider.last >= decider.max_hops:
                self._keep(decider.decide(self._buffer, j + 1, final=False))
        self._walked = max(self._walked, until)

    def _close(self, end: int) -> None:
        if self._decider is not None and self._decider.open:
            self._keep(self._decider.decide(self._buffer, end, final=True))

    def _keep(self, decision: Optional[Decision]) -> None:
        if decision is not None:
            self._decisions.append(decision)

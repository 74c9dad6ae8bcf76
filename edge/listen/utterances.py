"""Whole-utterance decisions over a `FrameBuffer`: a pure core that the listener and the file scorer
share (no clock, no I/O).

An utterance is a stretch of speech as the voice gate sees it (a `Segment`), its last ``max_s``
seconds at most. Its decision (`ser_edge.model.utterance.UtteranceHead.scores`) rests on the
scores of the windows classified in it (a window belongs to the utterance its last hop is in) and
on the statistics of its frames (`ser_edge.frontend.functionals.segment_vector`), z-scored by the
speaker's segment statistics, which learn each utterance's vector once it has ended.

While someone keeps talking, the listener asks for a rolling decision every ``every_s`` seconds
(`due`); the file scorer decides each segment when it ends (and a long one every ``max_s``).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ser_edge.config.settings import DECISION_SCOPES
from ser_edge.errors import ConfigError
from ser_edge.frontend.functionals import segment_vector
from ser_edge.frontend.params import FeatureParams
from ser_edge.model.utterance import UtteranceHead, VectorStats

from .frames import FrameBuffer

#: the prosody track's name in a `FrameBuffer`
PROSODY = "prosody"


def decision_scopes(scope: str, bundle) -> tuple[str, ...]:
    """The decision kinds ("window", "utterance") emitted for ``scope`` (`DECISION_SCOPES`) and a
    bundle; ConfigError if utterances are asked of a bundle without an utterance head."""
    if scope not in DECISION_SCOPES:
        raise ConfigError(f"scope = {scope!r} is invalid; allowed: {', '.join(DECISION_SCOPES)}")
    has_head = bundle.utterance is not None
    if scope == "auto":
        return ("utterance",) if has_head else ("window",)
    if scope != "window" and not has_head:
        raise ConfigError(f"scope = {scope!r} needs a bundle with an utterance head; {bundle.model_id} decides windows "
                          "only (allowed for it: window, auto)")
    return ("window", "utterance") if scope == "both" else (scope,)


class Decision(NamedTuple):
    """An utterance's decision: hops [start, end), (classes,) float32 scores, windows it rests on,
    whether it is the utterance's last (``final``) or a rolling one, and its functionals
    (``vector`` (d,) float64 `segment_vector`, raw: the personal head's input)."""

    start: int
    end: int
    scores: np.ndarray
    windows: int
    final: bool
    vector: Optional[np.ndarray] = None


class UtteranceDecider:
    """The open utterance's window scores and the speaker's segment statistics."""

    def __init__(self, head: UtteranceHead, params: FeatureParams, stats: Optional[VectorStats] = None, *,
                 learn: bool = True, adapter=None):
        self.head, self.params, self.learn, self._adapter = head, params, learn, adapter
        self._stats = stats if stats is not None or adapter is not None else VectorStats.for_head(head)
        hops_per_s = 1000.0 / params.hop_ms
        self.max_hops = max(1, int(round(head.max_s * hops_per_s)))
        self.every_hops = max(1, int(round(head.every_s * hops_per_s)))
        self.min_speech_hops = int(round(head.min_speech_s * hops_per_s))
        self.start: Optional[int] = None  # first hop of the open utterance
        self.last = 0  # end hop of its last decision
        self._windows: list[tuple[int, np.ndarray]] = []  # (last hop, scores) of its classified windows

    @classmethod
    def for_adapter(cls, head: UtteranceHead, params: FeatureParams, adapter) -> "UtteranceDecider":
        """A decider whose segment statistics are the `Adapter`'s (made on first use; an adapter
        in mode off keeps the prior's, frozen learns none), or its own without one (None)."""
        if adapter is None:
            return cls(head, params)
        return cls(head, params, learn=adapter.learning, adapter=adapter)

    @property
    def stats(self) -> VectorStats:
        """The speaker's segment statistics: the adapter's, read at each use (a state file loaded or
        a reset replaces them there), made from the head's prior when it has none."""
        if self._adapter is None:
            return self._stats
        if self._adapter.segments is None:
            self._adapter.segments = VectorStats.for_head(self.head)
        return self._adapter.segments

    @property
    def open(self) -> bool:
        return self.start is not None

    def begin(self, hop: int) -> None:
        """Speech starts at ``hop``."""
        self.start, self.last, self._windows = hop, hop, []

    def add(self, last_hop: int, scores: np.ndarray) -> None:
        """A window classified in the open utterance, its last hop and scores (classes,)."""
        if self.start is not None and last_hop >= self.start:
            self._windows.append((last_hop, np.asarray(scores, dtype=np.float32)))

    def keep_from(self, now: int) -> Optional[int]:
        """The first hop a `FrameBuffer` must keep for the open utterance (None: nothing to keep)."""
        return None if self.start is None else max(self.start, now - self.max_hops)

    def due(self, hop: int) -> bool:
        """True when the open utterance has gone ``every_s`` without a decision at ``hop``."""
        return self.start is not None and hop - self.last >= self.every_hops

    def decide(self, buffer: FrameBuffer, end: int, *, final: bool) -> Optional[Decision]:
        """The open utterance's decision over hops [max(start, end - max_hops), end), or None when
        it has no classified window or less than ``min_speech_s`` of speech, or when it is final
        and a rolling decision already ended at ``end`` (the same span: one event, not two).
        ``final``: the utterance has ended (its vector is learnt; the decider closes)."""
        if self.start is None:
            return None
        repeat = final and end == self.last and end > self.start  # a rolling decision ended here already
        first = max(self.start, end - self.max_hops, buffer.base)
        self.last = end
        windows = [s for hop, s in self._windows if first <= hop < end]
        flags = buffer.flags(first, end)
        decision = None
        if final:
            self.start, self._windows = None, []
        if windows and int(flags.sum()) >= max(self.min_speech_hops, 1):
            prosody = buffer.rows(PROSODY, first, end) if self.params.prosody else None
            vector = segment_vector(buffer.frames(first, end), flags, prosody, self.params)
            scores = self.head.scores(np.stack(windows), self.stats.zscore(vector))
            decision = None if repeat else Decision(first, end, scores, len(windows), final, vector)
            if final and self.learn:
                self.stats.update(vector)
        if not final:
            self._windows = [(hop, s) for hop, s in self._windows if hop >= end - self.max_hops]
        return decision

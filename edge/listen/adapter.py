"""The device's speaker statistics: a pure core that the pipeline and the clip scorer feed.

An `Adapter` holds one `ser_edge.frontend.normalise.RunningStats` for a speaker-normalised
model (``speaker_cmvn``), started from the bundle's population prior, a mode, and (for a bundle
with an utterance head) the speaker's segment statistics (`segments`, set by the utterance
decider; `reset` forgets them too):

* ``on``: learn from every voiced frame (the voice gate decides what is voiced);
* ``frozen``: use the statistics as they are (e.g. loaded from the state file), learn nothing;
* ``off``: the prior alone, always.

Streams learn in whole segments of ``window_hop_frames`` hops counted from the stream's
start (`learn_segments`): a window uses the statistics of every whole segment before its
end, so the result does not depend on how the audio was cut into blocks. Cost per segment:
one vectorised update of 2 x n_mfcc sums (about 20 us per 0.5 s of audio on x86).
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from ser_edge.errors import ConfigError
from ser_edge.frontend.normalise import Norm, Prior, RunningStats, finite_rows, voiced
from ser_edge.frontend.params import FeatureParams

MODES = ("on", "frozen", "off")


class Adapter:
    """Running speaker statistics with a mode; `norm` is what windows are normalised with."""

    def __init__(self, params: FeatureParams, prior: Prior, mode: str = "on", *,
                 clock=time.time) -> None:
        if mode not in MODES:
            raise ConfigError(f"adaptation = {mode!r} is invalid; allowed: {', '.join(MODES)}")
        self.params, self.prior, self.mode, self._clock = params, prior, mode, clock
        self.reset()

    def reset(self) -> None:
        """Start again from the prior; ``since`` (s since the epoch) is now."""
        self.stats = RunningStats.for_params(self.params, self.prior)
        self.segments = None  # Optional[ser_edge.model.utterance.VectorStats]
        self.since = self._clock()
        self.dirty = False  # learnt since the last save
        self._norm: Optional[Norm] = None

    @property
    def learning(self) -> bool:
        return self.mode == "on"

    @property
    def speech_s(self) -> float:
        """Seconds of the speaker's speech the statistics rest on (0 for mode off)."""
        return self.stats.speech_s

    def learn(self, frames: np.ndarray) -> None:
        """Add voiced frames (k, n_mfcc), oldest first, if the mode learns; frames with a NaN or an
        infinity never enter the statistics (nor make them dirty)."""
        frames = finite_rows(np.asarray(frames, dtype=np.float64)) if len(frames) else frames
        if self.learning and len(frames):
            self.stats.update(frames)
            self._norm, self.dirty = None, True

    def norm(self) -> Norm:
        """The current statistics, for `ser_edge.frontend.windows.normalise_window`."""
        if self._norm is None:
            self._norm = self.stats.norm()
        return self._norm

    def restore(self, stats: RunningStats, since: float) -> None:
        """Take statistics loaded from a state file (not for mode off: it keeps the prior)."""
        if self.mode != "off":
            self.stats, self.since, self._norm, self.dirty = stats, since, None, False

    def summary(self) -> dict:
        """What the statistics rest on, for `ser-edge adapt show` and status events."""
        return {"mode": self.mode, "speech_s": round(self.speech_s, 1), "heard_s": round(self.stats.heard_s, 1),
                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since)),
                "time_constant_s": self.params.adapt_time_constant_s, "prior_s": self.params.adapt_prior_s}


def for_bundle(bundle, mode: str = "on") -> Optional[Adapter]:
    """A fresh adapter for a speaker-normalised bundle, None for any other."""
    return Adapter(bundle.params, bundle.prior, mode) if bundle.adaptive else None


def learn_segments(adapter: Adapter, frames: np.ndarray, flags: np.ndarray, base: int, learned: int,
                   upto: int) -> int:
    """Learn each whole segment of ``window_hop_frames`` hops in [``learned``, ``upto``) (hop
    indices; ``frames``/``flags`` rows start at hop ``base``), one update per segment.
    Returns the hop learnt up to (a multiple of the segment length)."""
    size = adapter.params.window_hop_frames
    while learned + size <= upto:
        a, b = learned - base, learned - base + size
        adapter.learn(voiced(frames[a:b], flags[a:b]))
        learned += size
    return learned

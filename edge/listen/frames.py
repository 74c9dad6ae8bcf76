"""One frame buffer for the listener and the file scorer: audio blocks in; aligned frames, speech
flags, the windows due and the voiced segments out. A pure core: no clock, no I/O.

Each pushed block (float32 mono at ``params.sample_rate``, any size, empty included) goes through
the streaming MFCC, the voice gate and any further per-hop tracks: objects with
``push(block) -> (n, k)`` float32 rows, one row per hop and aligned with the MFCC frames (row
``i`` ready with the push that completes MFCC frame ``i``), e.g. a prosody extractor's stream,
``tracks={"prosody": ProsodyExtractor(params).stream()}``. Row ``i`` of every track and speech
flag ``i`` belong to hop ``i`` counted from the stream's start: indices here are absolute hop
(= frame) indices; the arrays hold the hops from `base` on. Hop ``i`` is *ready* when every
track and the gate have produced it. The gate runs about 1.5 hops ahead of the MFCC (its frame
ends at its hop's end, an MFCC frame starts at its hop's start), so `ready` follows the frames.

What users read:

* `due_windows`: the starts of the classification windows (``window_frames`` hops, one every
  ``window_hop_frames`` from hop 0, as `ser_edge.frontend.windows.window_starts` cuts a clip)
  that became whole since the last call, oldest first. `window` and `windows` normalise them,
  with the speaker statistics of the segments before each window's end; `voiced_fraction`
  tells how much of one is speech.
* `segments`: the stretches of speech as the gate sees them, (start, end) hops with ``end``
  exclusive (the first hop not speech; the gate's hangover included), ``end`` None while open.
* The speaker statistics (`Adapter`, speaker-normalised models): `learn` feeds them the voiced
  frames in whole segments of ``window_hop_frames`` hops, in order (the adapter cursor
  `learned`); `learn_rest` the last part at the end of a file.

Memory: `trim` drops what no window still to come can need, and never what the adapter has not
learnt yet nor anything from its ``keep_from`` on. Users that trim after each push hold less than
one window of rows and flags (plus the gate's lead of a hop or two), whatever the stream's length.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Optional, Protocol

import numpy as np

from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.normalise import voiced
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.vad import VoiceGate
from ser_edge.frontend.windows import cut_windows, normalise_window, voiced_fraction

from .adapter import Adapter, learn_segments

#: the MFCC's track name
MFCC = "mfcc"


class Track(Protocol):
    """A streaming per-hop feature: blocks in, the rows of the hops they complete out."""

    def push(self, block: np.ndarray) -> np.ndarray: ...


class Segment(NamedTuple):
    """A stretch of speech as the gate sees it: hops [start, end); ``end`` None while it lasts."""

    start: int
    end: Optional[int]


class FrameBuffer:
    """MFCC frames, further tracks and speech flags of one stream, aligned by absolute hop index."""

    def __init__(self, params: FeatureParams, *, gate: Optional[VoiceGate] = None,
                 adapter: Optional[Adapter] = None, tracks: Optional[Mapping[str, Track]] = None) -> None:
        """``gate``: the voice gate (default: `VoiceGate.from_params(params)`); ``adapter``: speaker
        statistics to feed (None: none); ``tracks``: further per-hop tracks by name (besides "mfcc")."""
        self.params, self.adapter = params, adapter
        self._size, self._step = params.window_frames, params.window_hop_frames  # hops (properties: cached)
        self.gate = gate or VoiceGate.from_params(params)
        self._tracks: dict[str, Track] = {MFCC: MfccExtractor(params).stream(), **(tracks or {})}
        self._rows: dict[str, Optional[np.ndarray]] = {name: None for name in self._tracks}
        self._rows[MFCC] = np.zeros((0, params.n_mfcc), np.float32)
        self._flags = np.zeros(0, bool)
        self.base = 0  # hop index of row 0 of every array
        self.ready = 0  # hops [0, ready) have a row in every track and a flag
        self.next_window = 0  # start of the next window `due_windows` will give
        self.learned = 0  # hop up to which the adapter has learnt
        self.samples = self.speech_hops = 0  # samples pushed; speech flags so far
        self._segments: list[Segment] = []  # closed, oldest first, ending after `base`
        self._open: Optional[int] = None  # start of the speech going on at the last flag

    # ----- input -----------------------------------------------------------------------------
    def push(self, block: np.ndarray) -> None:
        """Add samples: 1-D float32 audio at the model rate, any length."""
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        self.samples += x.size
        for name, track in self._tracks.items():
            rows, held = track.push(x), self._rows[name]
            self._rows[name] = rows if held is None else np.concatenate([held, rows]) if rows.size else held
        flags = self.gate.push(x)
        if flags.size:
            self._follow_segments(flags, self.flags_end)
            self._flags = np.concatenate([self._flags, flags])
            self.speech_hops += int(flags.sum())
        held = min(0 if rows is None else rows.shape[0] for rows in self._rows.values())
        self.ready = self.base + min(held, self._flags.size)

    def _follow_segments(self, flags: np.ndarray, first: int) -> None:
        """Open and close `segments` at the gate's transitions in ``flags`` (hop ``first`` on)."""
        speaking = self._open is not None
        if flags.all() if speaking else not flags.any():
            return  # no transition: the usual case
        edges = (np.flatnonzero(flags[1:] != flags[:-1]) + 1).tolist()
        for k in ([0] if flags[0] != speaking else []) + edges:
            if flags[k]:
                self._open = first + k
            else:
                self._segments.append(Segment(self._open, first + k))  # type: ignore[arg-type]
                self._open = None

    # ----- what is held ------------------------------------------------------------------------
    @property
    def flags_end(self) -> int:
        """Hops flagged so far: the gate's count since the start."""
        return self.base + self._flags.size

    def rows(self, name: str = MFCC, start: Optional[int] = None, stop: Optional[int] = None) -> np.ndarray:
        """A track's rows of hops [start, stop) (default: all held), (n, k) float32, a view."""
        held = self._rows[name]
        if held is None:
            raise KeyError(f"track {name!r} has no rows yet")
        return held[self._index(start, 0): self._index(stop, held.shape[0])]

    def frames(self, start: Optional[int] = None, stop: Optional[int] = None) -> np.ndarray:
        """MFCC frames of hops [start, stop) (default: all held), (n, n_mfcc) float32."""
        return self.rows(MFCC, start, stop)

    def flags(self, start: Optional[int] = None, stop: Optional[int] = None) -> np.ndarray:
        """Speech flags of hops [start, stop) (default: all held), bool."""
        return self._flags[self._index(start, 0): self._index(stop, self._flags.size)]

    def _index(self, hop: Optional[int], default: int) -> int:
        return default if hop is None else hop - self.base

    @property
    def segments(self) -> list[Segment]:
        """Closed stretches of speech ending after `base`, oldest first, then the open one if any."""
        return self._segments + ([Segment(self._open, None)] if self._open is not None else [])

    # ----- windows ---------------------------------------------------------------------------
    def due_windows(self) -> list[int]:
        """Start hops of the windows whole since the last call (every hop of them `ready`)."""
        starts = list(range(self.next_window, self.ready - self._size + 1, self._step))
        if starts:
            self.next_window = starts[-1] + self._step
        return starts

    def voiced_fraction(self, start: int) -> float:
        """Speech share (0..1) of the window starting at hop ``start``."""
        return voiced_fraction(self._flags, start - self.base, self.params)

    def window(self, start: int) -> np.ndarray:
        """The normalised window starting at hop ``start``, (window_frames, n_mfcc) float32; the
        adapter first learns the whole segments before the window's end."""
        rows = self.frames(start, start + self._size)
        if self.adapter is None:
            return normalise_window(rows, self.params)
        self.learn(start + self._size)
        return normalise_window(rows, self.params, self.adapter.norm())

    def windows(self, starts: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Normalised windows at hops ``starts`` (k, window_frames, n_mfcc) float32 and their
        voiced fractions (k,): as `cut_windows`, or with an adapter each as `window`."""
        if self.adapter is None:
            return cut_windows(self.frames(), self._flags, [s - self.base for s in starts], self.params)
        stack = np.stack([self.window(s) for s in starts])
        return stack, np.array([self.voiced_fraction(s) for s in starts])

    # ----- speaker statistics ------------------------------------------------------------------
    def learn(self, upto: int) -> None:
        """The adapter learns every whole segment in [`learned`, ``upto``) (`learn_segments`)."""
        if self.adapter is not None:
            self.learned = learn_segments(self.adapter, self.frames(), self._flags, self.base, self.learned, upto)

    def learn_rest(self) -> None:
        """End of a file: the adapter learns the frames not yet learnt (whole segments, then the tail)."""
        if self.adapter is None:
            return
        end = self.base + self.frames().shape[0]
        self.learn(end)
        self.adapter.learn(voiced(self.frames(self.learned), self.flags(self.learned)))
        self.learned = end

    # ----- memory ------------------------------------------------------------------------------
    def trim(self, keep_from: Optional[int] = None) -> None:
        """Drop the hops before the next window due, `ready` and ``keep_from``, whichever is first,
        and the segments that ended before what is kept. An adapter first learns the whole
        segments before that (in order, so no window's statistics change); a part segment stays."""
        keep = min(self.next_window, self.ready)
        if keep_from is not None:
            keep = min(keep, keep_from)
        if self.adapter is not None:
            if self.learned + self._step <= keep:
                self.learn(keep)
            keep = min(keep, self.learned)
        cut = keep - self.base
        if cut <= 0:
            return
        self._rows = {name: None if rows is None else rows[cut:] for name, rows in self._rows.items()}
        self._flags = self._flags[cut:]
        self.base = keep
        self._segments = [s for s in self._segments if s.end > keep]  # type: ignore[operator]

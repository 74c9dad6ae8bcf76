"""An audio file as a source, read in blocks (bounded memory), optionally paced in real time.

The file is opened once by `ser_edge.audio.read.open_blocks`, as `classify` opens it (the
same checks and messages): WAV with the standard library, also from a pipe or FIFO
(``cat x.wav | ser-edge listen --from-wav /dev/stdin``); FLAC, Ogg and AIFF through
soundfile's block reader when it is installed (``pip install ser-edge[flac]``). Faults
here are `AudioError`s (a bad file does not get better by retrying); the stream ends at
the end of the file.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterator, Optional

import numpy as np

from ser_edge.audio.read import open_blocks, to_mono
from ser_edge.errors import shown

from .base import EMPTY, Block, StreamResampler

#: longest single sleep while pacing, s (keeps signal handling prompt)
_PACE_SLICE_S = 0.1


class FileSource:
    """Blocks of ``block_ms`` from an audio file, mono, resampled to ``sample_rate`` Hz.

    realtime: deliver each block no sooner than its audio time after the first read, like
    a live microphone (otherwise as fast as the reader goes). ``clock``/``sleep`` (seconds)
    are replaceable for tests.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, *, block_ms: int = 100, realtime: bool = False,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = str(path)
        self.name = f"file {shown(self.path)}"
        self.sample_rate = int(sample_rate)
        self.block_ms = block_ms
        self.realtime = realtime
        self._clock, self._sleep = clock, sleep
        self._blocks: Optional[Iterator[np.ndarray]] = None
        self._resample: Optional[StreamResampler] = None
        self._t0: Optional[float] = None
        self._out = 0  # samples delivered, at the output rate
        self._done = False

    def open(self) -> None:
        """Open the file and check its header (AudioError naming it if unusable)."""
        self.close()
        self._blocks, rate = open_blocks(self.path, self.block_ms / 1000)
        self._resample = StreamResampler(rate, self.sample_rate)
        self._t0, self._out, self._done = None, 0, False

    def read(self) -> Optional[Block]:
        """The next block at the output rate; None once the file (and the resampler) is drained."""
        if self._done or self._blocks is None or self._resample is None:
            return None
        chunk = next(self._blocks, None)
        if chunk is None:
            self._done = True
            tail = self._resample(np.zeros(0, np.float32), last=True)
            return self._paced(Block(tail)) if tail.size else None
        samples = self._resample(to_mono(chunk))
        return self._paced(Block(samples)) if samples.size else EMPTY

    def _paced(self, block: Block) -> Block:
        self._out += block.samples.size
        if not self.realtime:
            return block
        now = self._clock()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + self._out / self.sample_rate  # a microphone hands a block over once recorded
        while now < due:
            self._sleep(min(_PACE_SLICE_S, due - now))
            now = self._clock()
        return block

    def close(self) -> None:
        closer = getattr(self._blocks, "close", None)
        if closer is not None:
            closer()  # ends the generator, closing its file
        if self._resample is not None:
            self._resample.close()
        self._blocks = self._resample = None


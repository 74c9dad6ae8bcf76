"""In-memory sources for prototypes and tests: a NumPy array, or any iterable of blocks.

Arrays and blocks follow the Python API's one rule (`ser_edge.audio.samples.api_samples`): int16
scaled by 1/32768, float32/float64 as they are, shape (n,) or (n, 1), every sample finite; rates
a whole number of Hz from 4000 to 768000 (`api_rate`). Anything else is an AudioError.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

import numpy as np

from ser_edge.audio.samples import api_rate, api_samples

from .base import Block, StreamResampler


class IterableSource:
    """Any iterable of blocks ((n,) or (n, 1), int16 or float: see the module doc) at ``rate`` Hz,
    resampled to ``sample_rate`` Hz.

    The stream ends when the iterable does; a block outside the rule (a NaN in it, say) is an
    AudioError when it is read, before it reaches the pipeline or the speaker statistics.
    """

    def __init__(self, blocks: Iterable[np.ndarray], sample_rate: int, *, rate: Optional[int] = None,
                 name: str = "blocks") -> None:
        self.sample_rate = int(sample_rate)
        self.rate = api_rate(sample_rate if rate is None else rate)
        self.name = name
        self._iterable = blocks
        self._it: Optional[Iterator[np.ndarray]] = None
        self._resample = StreamResampler(self.rate, self.sample_rate)
        self._done = False

    def open(self) -> None:
        self._it = iter(self._iterable)
        self._resample = StreamResampler(self.rate, self.sample_rate)
        self._done = False

    def read(self) -> Optional[Block]:
        if self._it is None:
            self.open()
        if self._done:
            return None
        block = next(self._it, None)  # type: ignore[arg-type]
        if block is None:
            self._done = True
            tail = self._resample(np.zeros(0, np.float32), last=True)
            return Block(tail) if tail.size else None
        return Block(self._resample(api_samples(block, self.name)))

    def close(self) -> None:
        self._it = None


class ArraySource(IterableSource):
    """A whole array (the module's rule, at ``rate`` Hz) delivered in blocks of ``block_ms``; checked
    whole when made (AudioError)."""

    def __init__(self, samples: np.ndarray, sample_rate: int, *, rate: Optional[int] = None,
                 block_ms: int = 100) -> None:
        x = api_samples(samples, f"array of {getattr(samples, 'shape', '?')}")
        step = max(1, api_rate(sample_rate if rate is None else rate) * block_ms // 1000)
        super().__init__((x[i: i + step] for i in range(0, len(x), step)), sample_rate, rate=rate,
                         name=f"array of {len(x)} samples")

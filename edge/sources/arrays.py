"""In-memory sources for prototypes and tests: a NumPy array, or any iterable of blocks."""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

import numpy as np

from ser_edge.audio.read import to_mono
from ser_edge.errors import AudioError
from .base import Block, StreamResampler


class IterableSource:
    """Any iterable of float blocks ((n,) or (n, channels)) at ``rate`` Hz, resampled to ``sample_rate``.

    The stream ends when the iterable does. Integer blocks are refused (scale them to [-1, 1]).
    """

    def __init__(self, blocks: Iterable[np.ndarray], sample_rate: int, *, rate: Optional[int] = None,
                 name: str = "blocks") -> None:
        self.sample_rate = int(sample_rate)
        self.rate = int(rate or sample_rate)
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
        x = np.asarray(block)
        if not np.issubdtype(x.dtype, np.floating):
            raise AudioError(f"{self.name}: blocks must be float samples in [-1, 1], got dtype {x.dtype}")
        return Block(self._resample(to_mono(x)))

    def close(self) -> None:
        self._it = None


class ArraySource(IterableSource):
    """A whole array ((n,) or (n, channels), float, at ``rate`` Hz) delivered in blocks of ``block_ms``."""

    def __init__(self, samples: np.ndarray, sample_rate: int, *, rate: Optional[int] = None,
                 block_ms: int = 100) -> None:
        x = np.asarray(samples)
        step = max(1, int(rate or sample_rate) * block_ms // 1000)
        super().__init__((x[i: i + step] for i in range(0, len(x), step)), sample_rate, rate=rate,
                         name=f"array of {len(x)} samples")

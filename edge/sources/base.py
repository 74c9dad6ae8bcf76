"""What every audio source shares: the `Source` protocol, `Block`, streaming resampling.

A source delivers float32 mono blocks at the model's rate and nothing else: no features,
no clock for the pipeline (audio time comes from the sample count). `read` waits at most
about one block (a quarter second at most), so the caller's loop stays responsive to
signals and can feed a watchdog; it returns an empty block when nothing arrived yet and
None at the end of the stream. A fault that may pass (an unplugged microphone) is a
`SourceError`; `ResilientSource` reopens such a source with back-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol, runtime_checkable

import numpy as np

from ser_edge.errors import DependencyError

#: the longest a `read` may block, s
MAX_WAIT_S = 0.25


@dataclass(frozen=True)
class Block:
    """samples: float32 (n,) in [-1, 1] at the source's output rate (n may be 0);
    dropped: samples at that rate lost just before this block (overruns)."""

    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    dropped: int = 0


EMPTY = Block()


@runtime_checkable
class Source(Protocol):
    """An audio source; ``sample_rate`` is the output rate, Hz."""

    name: str
    sample_rate: int

    def open(self) -> None:
        """Start delivering audio; SourceError if it cannot (yet)."""

    def read(self) -> Optional[Block]:
        """The next block (maybe empty); None at the end of the stream; SourceError on a fault."""

    def close(self) -> None:
        """Release the device or file; safe to call twice."""


class StreamResampler:
    """Band-limited streaming resampling (soxr.ResampleStream) of float32 mono; identity if rates match."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        self._stream = None
        if self.rate_in != self.rate_out:
            try:
                import soxr
            except ImportError:
                raise DependencyError("resampling needs python-soxr: pip install soxr") from None
            self._stream = soxr.ResampleStream(self.rate_in, self.rate_out, 1, dtype="float32", quality="HQ")

    def __call__(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample the next (n,) float32 chunk; ``last`` flushes what the filter holds back and
        releases the filter (a later call is a ValueError)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self._stream is None:
            if self.rate_in != self.rate_out:
                raise ValueError(f"resampler {self.rate_in} -> {self.rate_out} Hz used after its last chunk")
            return x
        out = np.asarray(self._stream.resample_chunk(x, last=last), dtype=np.float32).reshape(-1)
        if last:
            self.close()
        return out

    def close(self) -> None:
        """Release the soxr filter now (one left alive at exit makes nanobind print leak warnings)."""
        self._stream = None

    def frames_out(self, frames_in: int) -> int:
        """Input frames expressed at the output rate (for drop counts)."""
        return int(round(frames_in * self.rate_out / self.rate_in))


def pcm16_to_float(data: bytes, channels: int = 1) -> np.ndarray:
    """Little-endian s16 interleaved bytes -> float32 mono (n,) in [-1, 1) (channels averaged)."""
    x = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        x = x[: x.size // channels * channels].reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return x

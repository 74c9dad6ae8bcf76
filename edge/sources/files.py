"""An audio file as a source, read in blocks (bounded memory), optionally paced in real time.

WAV is streamed with the standard library (`iter_wav_blocks`); FLAC, Ogg and AIFF through
soundfile's block reader when it is installed (``pip install ser-edge[flac]``). Faults
here are `AudioError`s (a bad file does not get better by retrying); the stream ends at
the end of the file.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterator, Optional

import numpy as np

from ser_edge.audio.read import to_mono
from ser_edge.errors import AudioError, DependencyError
from ser_edge.audio.wavfile import open_audio_file, read_wav_info, sniff, iter_wav_blocks
from .base import EMPTY, Block, StreamResampler

_SOUNDFILE_KINDS = ("flac", "aiff", "ogg")
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
        self.name = f"file {self.path}"
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
        with open_audio_file(self.path) as f:
            kind = sniff(f.read(12))
        if kind == "wav":
            rate = read_wav_info(self.path).sample_rate
            self._blocks = iter_wav_blocks(self.path, self._frames(rate))
        elif kind in _SOUNDFILE_KINDS:
            rate, self._blocks = _soundfile_blocks(self.path, kind, self.block_ms)
        else:
            raise AudioError(f"{self.path}: not a supported audio file (allowed: WAV; FLAC, AIFF, Ogg with soundfile)")
        self._resample = StreamResampler(rate, self.sample_rate)
        self._t0, self._out, self._done = None, 0, False

    def _frames(self, rate: int) -> int:
        return max(1, rate * self.block_ms // 1000)

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
        self._blocks = None


def _soundfile_blocks(path: str, kind: str, block_ms: int) -> tuple[int, Iterator[np.ndarray]]:
    try:
        import soundfile
    except (ImportError, OSError):  # OSError: the wheel is there but libsndfile is not
        raise DependencyError(f"{path}: {kind.upper()} needs soundfile (pip install ser-edge[flac]); "
                              "WAV works without it") from None
    try:
        handle = soundfile.SoundFile(path)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioError(f"{path}: cannot decode {kind.upper()} data ({exc})") from None
    rate = int(handle.samplerate)

    def blocks() -> Iterator[np.ndarray]:
        with handle:
            try:
                for block in handle.blocks(blocksize=max(1, rate * block_ms // 1000), dtype="float32", always_2d=True):
                    if not np.all(np.isfinite(block)):
                        raise AudioError(f"{path}: holds NaN or infinite samples")
                    yield block
            except (RuntimeError, soundfile.LibsndfileError) as exc:  # corrupt after a good header
                raise AudioError(f"{path}: cannot decode {kind.upper()} data ({exc})") from None

    return rate, blocks()

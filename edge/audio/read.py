"""Audio files in, 1-D float32 mono at the model's rate out.

The container is recognised by its bytes, not its name (the corpora hold AIFF data
named .wav). WAV is read with the standard library (`wavfile`); FLAC, AIFF and Ogg
go through soundfile when it is installed (`pip install ser-edge[flac]`).
Resampling uses python-soxr (band-limited, anti-aliased; aarch64 wheels exist).
`open_blocks` opens a file once, checks its header and streams it; a WAV may also come
through a pipe or FIFO (see `opening.open_audio_file`).
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from ser_edge.errors import AudioError, DependencyError, shown

from .wavfile import (
    MAX_BLOCK_BYTES,
    MAX_CHANNELS,
    StreamReader,
    check_rate,
    open_audio_file,
    parse_header,
    read_wav_from,
    sniff,
    wav_blocks,
)

_SOUNDFILE_KINDS = ("flac", "aiff", "ogg")


def load_audio(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
    """Read any supported file as mono float32 in [-1, 1] at ``sample_rate`` Hz, shape (n,)."""
    samples, rate = read_audio(path)
    mono = to_mono(samples)
    out = resample(mono, rate, sample_rate)
    if out.size == 0:
        raise AudioError(f"{shown(path)}: holds no audio samples")
    return out


def iter_audio(path: str | os.PathLike, sample_rate: int = 16000, block_s: float = 1.0) -> Iterator[np.ndarray]:
    """Stream a file as mono float32 blocks (n,) at ``sample_rate`` Hz, about ``block_s`` s of the
    file each: bounded memory for any length. The samples are those of `load_audio` exactly
    (streamed soxr resampling equals the one-shot form); the same AudioErrors, raised when met."""
    name = str(path)
    blocks, rate = open_blocks(name, block_s)
    stream = None if rate == sample_rate else _soxr().ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
    total = 0
    try:
        for block in blocks:
            mono = to_mono(block)
            out = mono if stream is None else stream.resample_chunk(mono, last=False)
            total += out.size
            if out.size:
                yield out
    finally:
        blocks.close()
    if stream is not None:
        tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
        stream = None  # released now, not at exit (nanobind would print leak warnings)
        total += tail.size
        if tail.size:
            yield tail
    if total == 0:
        raise AudioError(f"{shown(name)}: holds no audio samples")


def open_blocks(path: str | os.PathLike, block_s: float = 1.0) -> tuple[Iterator[np.ndarray], int]:
    """Open ``path`` once and check its header: (blocks float32 (n, channels) of about ``block_s`` s,
    at most `MAX_BLOCK_BYTES` of samples each; the file's rate in Hz). The blocks are an iterator
    with ``close()``, which closes the file (at the end it closes by itself). AudioError naming the file, as `probe`'s, if unusable."""
    name = str(path)
    f = open_audio_file(name)
    try:
        head = f.read(12)
        kind = _kind(head, name)
        if kind == "wav":
            info = parse_header(f, name, head)
            return _Closing(wav_blocks(f, info, max(1, round(block_s * info.sample_rate))), f), info.sample_rate
        if isinstance(f, StreamReader):
            raise AudioError(f"{shown(name)}: {kind.upper()} cannot be read from a pipe or FIFO; only WAV can")
    except BaseException:
        f.close()
        raise
    f.close()  # soundfile opens the (regular) file itself
    blocks, rate = _soundfile_blocks(name, kind, block_s)
    return blocks, rate


class _Closing:
    """An iterator over ``blocks`` whose ``close()`` also closes ``f`` (started or not)."""

    def __init__(self, blocks: Iterator[np.ndarray], f) -> None:
        self._blocks, self._f = blocks, f

    def __iter__(self) -> "_Closing":
        return self

    def __next__(self) -> np.ndarray:
        try:
            return next(self._blocks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._f.close()


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a file at its own rate: (float32 (frames, channels), rate in Hz)."""
    name = str(path)
    with open_audio_file(name) as f:
        head = f.read(12)
        kind = _kind(head, name)
        if kind == "wav":
            return read_wav_from(f, name, head)
        if isinstance(f, StreamReader):
            raise AudioError(f"{shown(name)}: {kind.upper()} cannot be read from a pipe or FIFO; only WAV can")
    return _read_with_soundfile(name, kind)


def probe(path: str | os.PathLike) -> str:
    """The container of a readable audio file ("wav", "flac", "aiff", "ogg"), from its first bytes.

    AudioError naming the file if it is missing, empty, a folder, unreadable or not audio we read.
    """
    name = str(path)
    with open_audio_file(name) as f:
        return _kind(f.read(12), name)


def _kind(head: bytes, name: str) -> str:
    """The container ``head`` (the first 12 bytes) names; AudioError naming the file otherwise."""
    if not head:
        raise AudioError(f"{shown(name)}: empty file (0 bytes)")
    kind = sniff(head)
    if kind == "wav" or kind in _SOUNDFILE_KINDS:
        return kind
    if kind == "mp3":
        raise AudioError(f"{shown(name)}: MP3 is not supported; convert it to WAV or FLAC")
    raise AudioError(f"{shown(name)}: not a recognised audio file (allowed: WAV; FLAC, AIFF, Ogg with soundfile)")


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames, channels) or (frames,) float -> (frames,) float32, averaging channels."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(x.reshape(-1))


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of 1-D float32 audio from ``rate_in`` to ``rate_out`` Hz."""
    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float32)
    soxr = _soxr()
    return soxr.resample(np.asarray(x, dtype=np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)


def _soxr():
    try:
        import soxr
    except ImportError:
        raise DependencyError("resampling needs python-soxr: pip install soxr") from None
    return soxr


def _soundfile(name: str, kind: str):
    try:
        import soundfile
    except (ImportError, OSError):  # OSError: the wheel is there but libsndfile is not
        raise DependencyError(
            f"{shown(name)}: {kind.upper()} needs soundfile (pip install ser-edge[flac]); WAV works without it"
        ) from None
    return soundfile


def _soundfile_blocks(name: str, kind: str, block_s: float) -> tuple[Iterator[np.ndarray], int]:
    """(blocks float32 (n, channels) checked like `_read_with_soundfile`, rate in Hz)."""
    soundfile = _soundfile(name, kind)
    try:
        info = soundfile.info(name)
        rate, channels = int(info.samplerate), int(info.channels)
    except (RuntimeError, ValueError, TypeError, OSError) as exc:
        raise AudioError(f"{shown(name)}: cannot decode {kind.upper()} data ({exc})") from None
    check_rate(rate, name)
    _check_channels(channels, name)
    frames = max(1, min(round(block_s * rate), MAX_BLOCK_BYTES // (4 * channels)))

    def blocks() -> Iterator[np.ndarray]:
        try:
            for data in soundfile.blocks(name, blocksize=frames, dtype="float32", always_2d=True):
                if not np.all(np.isfinite(data)):
                    raise AudioError(f"{shown(name)}: holds NaN or infinite samples")
                yield np.clip(data, -1.0, 1.0, out=data)
        except (RuntimeError, ValueError, TypeError, OSError) as exc:
            raise AudioError(f"{shown(name)}: cannot decode {kind.upper()} data ({exc})") from None

    return blocks(), rate


def _check_channels(channels: int, name: str) -> None:
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{shown(name)}: {channels} channels is not supported; allowed: 1-{MAX_CHANNELS} "
                         "(a corrupt header?)")


def _read_with_soundfile(name: str, kind: str) -> tuple[np.ndarray, int]:
    soundfile = _soundfile(name, kind)
    try:
        _check_channels(int(soundfile.info(name).channels), name)
        data, rate = soundfile.read(name, dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, TypeError, OSError) as exc:  # LibsndfileError is a RuntimeError
        raise AudioError(f"{shown(name)}: cannot decode {kind.upper()} data ({exc})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{shown(name)}: holds no audio samples")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{shown(name)}: holds NaN or infinite samples")
    check_rate(int(rate), name)
    return np.clip(data, -1.0, 1.0, out=data), int(rate)  # float files may exceed full scale

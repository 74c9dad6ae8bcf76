"""WAV reading with the standard library and NumPy only (no libsndfile on the device).

Supports RIFF/WAVE with PCM 8 (unsigned), 16, 24 and 32-bit integers, 32/64-bit IEEE
float, WAVE_FORMAT_EXTENSIBLE wrapping either, 1 to `MAX_CHANNELS` channels. Samples come
out as float32 in [-1, 1], shape (frames, channels); float samples beyond full scale are
clipped to it, NaN or infinite ones are refused. Every problem is an `AudioError`
that names the file, and no header field, however corrupt, makes the reader allocate
more than the file holds, nor a streamed block more than `MAX_BLOCK_BYTES`.

A file is opened once (`ser_edge.audio.opening.open_audio_file`): a regular file is read
with seeks, a pipe or FIFO front to back (`StreamReader`).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional, Union

import numpy as np

from ser_edge.errors import AudioError, shown

from .opening import StreamReader, open_audio_file  # noqa: F401 (open_audio_file: re-exported)

PCM, IEEE_FLOAT, EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
#: sample rates accepted, Hz: below, resampling to the model rate would multiply the data;
#: above, no audio interface records (a corrupt header says 4 GHz)
MIN_RATE, MAX_RATE = 4000, 768000
# data sizes that streaming writers (arecord to a pipe, sox -t wav -) leave in the header
_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000)
#: ``data_bytes`` of a stream whose writer left the length unknown: read to its end
OPEN_ENDED = 1 << 62
#: most channels accepted: more is a corrupt header (65,535 channels of float64 would make a
#: one-second block 400 GB)
MAX_CHANNELS = 64
#: most sample bytes read for one streamed block (the block is shortened to fit)
MAX_BLOCK_BYTES = 1 << 20
#: a fmt chunk is 16-40 bytes; a larger claim is corrupt
MAX_FMT_BYTES = 1 << 16


@dataclass(frozen=True)
class WavInfo:
    """What the header says. ``data_offset``/``data_bytes`` locate the samples in bytes."""

    path: str
    sample_rate: int  # Hz
    channels: int
    bits: int  # bits per sample
    is_float: bool
    data_offset: int
    data_bytes: int  # for a stream whose writer left the length unknown: all it holds, up to 2**62

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.bits // 8

    @property
    def frames(self) -> int:
        """Number of sample frames (one sample per channel) in the data chunk."""
        return self.data_bytes // self.frame_bytes

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def sniff(head: bytes) -> str:
    """Container kind from the first 12 bytes: wav, aiff, flac, ogg, mp3 or unknown."""
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    return "unknown"


def read_wav_info(path: str | os.PathLike) -> WavInfo:
    """Parse a WAV header; raise `AudioError` naming the file for anything unusable."""
    name = str(path)
    with open_audio_file(name) as f:
        return parse_header(f, name)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Whole file -> (samples float32 of shape (frames, channels), sample rate in Hz)."""
    name = str(path)
    with open_audio_file(name) as f:
        return read_wav_from(f, name)


def read_wav_from(f: BinaryIO, name: str, head: Optional[bytes] = None) -> tuple[np.ndarray, int]:
    """`read_wav` of a file opened by `open_audio_file` (``head``: its first 12 bytes, if read)."""
    info = parse_header(f, name, head)
    raw = f.read(info.frames * info.frame_bytes)
    return _decode(raw[: len(raw) // info.frame_bytes * info.frame_bytes], info), info.sample_rate


def iter_wav_blocks(path: str | os.PathLike, block_frames: int) -> Iterator[np.ndarray]:
    """Stream a WAV in blocks of at most ``block_frames`` frames, float32 (n, channels); bounded memory."""
    name = str(path)
    with open_audio_file(name) as f:
        info = parse_header(f, name)
        yield from wav_blocks(f, info, block_frames)


def wav_blocks(f: BinaryIO, info: WavInfo, block_frames: int) -> Iterator[np.ndarray]:
    """The samples of ``f``, positioned at the data by `parse_header`, in blocks of at most
    ``block_frames`` frames and `MAX_BLOCK_BYTES` bytes: float32 (n, channels)."""
    per_block = max(1, min(block_frames, MAX_BLOCK_BYTES // info.frame_bytes))
    left = info.frames
    while left > 0:
        n = min(per_block, left)
        raw = f.read(n * info.frame_bytes)
        whole = len(raw) // info.frame_bytes * info.frame_bytes
        if whole:
            yield _decode(raw[:whole], info)
        if len(raw) < n * info.frame_bytes:
            if info.data_bytes < OPEN_ENDED:  # the length was known: the file was cut while we read it
                got = (info.frames - left) * info.frame_bytes + len(raw)
                raise AudioError(f"{shown(info.path)}: truncated WAV: header promises {info.data_bytes} bytes of "
                                 f"audio, the file ended after {got} (cut while it was read?)")
            return  # the end of a stream whose writer did not know its length
        left -= n


def parse_header(f: Union[BinaryIO, StreamReader], name: str, head: Optional[bytes] = None) -> WavInfo:
    """Parse the header of the open file ``f`` (``head``: its first 12 bytes, if already read) and
    leave ``f`` at the first sample byte."""
    if isinstance(f, StreamReader):
        return _parse_header(f, name, None, head)
    size = os.fstat(f.fileno()).st_size
    return _parse_header(f, name, size, head)


def _skip(f: Union[BinaryIO, StreamReader], n: int, file_size: Optional[int]) -> bool:
    """Move ``n`` bytes on; False if the file ends first."""
    if isinstance(f, StreamReader):
        return f.skip(n) == n
    f.seek(n, os.SEEK_CUR)
    return file_size is None or f.tell() <= file_size


def _parse_header(f, name: str, file_size: Optional[int], head: Optional[bytes] = None) -> WavInfo:
    label = shown(name)
    head = f.read(12) if head is None else head
    if len(head) == 0:
        raise AudioError(f"{label}: empty file (0 bytes)")
    kind = sniff(head)
    if kind == "aiff":
        raise AudioError(f"{label}: holds AIFF data, not WAV (despite its name); convert it to WAV or read it with soundfile")
    if kind != "wav":
        what = "not a WAV file" if kind == "unknown" else f"holds {kind.upper()} data, not WAV"
        raise AudioError(f"{label}: {what} (no RIFF/WAVE header)")
    if head[:4] != b"RIFF":
        raise AudioError(f"{label}: {head[:4].decode('ascii')} WAV files are not supported; only little-endian RIFF")
    fmt = None
    offset = 12
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise AudioError(f"{label}: truncated WAV: no {'fmt ' if fmt is None else 'data'} chunk before the end of the file")
        offset += 8
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            if file_size is not None and size > file_size - offset:  # a corrupt size may claim 4 GB
                raise AudioError(f"{label}: truncated WAV: fmt chunk claims {size} bytes, the file holds "
                                 f"{file_size - offset} more")
            if size > MAX_FMT_BYTES:
                raise AudioError(f"{label}: malformed WAV: fmt chunk claims {size} bytes (at most {MAX_FMT_BYTES})")
            fmt = _parse_fmt(f.read(size), label)
            if size % 2 and not _skip(f, 1, file_size):
                raise AudioError(f"{label}: truncated WAV: no data chunk before the end of the file")
            offset += size + size % 2
        elif cid == b"data":
            if fmt is None:
                raise AudioError(f"{label}: malformed WAV: data chunk before the fmt chunk")
            return _data_info(name, fmt, offset, size, file_size)
        else:
            if not _skip(f, size + size % 2, file_size):  # chunks are padded to even sizes
                raise AudioError(f"{label}: truncated WAV: no {'fmt ' if fmt is None else 'data'} chunk before "
                                 "the end of the file")
            offset += size + size % 2


def _parse_fmt(body: bytes, name: str) -> tuple[int, int, int, bool]:
    if len(body) < 16:
        raise AudioError(f"{name}: malformed WAV: fmt chunk of {len(body)} bytes (at least 16 needed)")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    if tag not in (PCM, IEEE_FLOAT):
        raise AudioError(f"{name}: WAV encoding 0x{tag:04x} is not supported; allowed: PCM integer or IEEE float")
    is_float = tag == IEEE_FLOAT
    allowed = (32, 64) if is_float else (8, 16, 24, 32)
    if bits not in allowed:
        kind = "float" if is_float else "PCM"
        raise AudioError(f"{name}: {bits}-bit {kind} WAV is not supported; allowed: {', '.join(map(str, allowed))}-bit")
    if channels < 1:
        raise AudioError(f"{name}: malformed WAV: {channels} channels")
    if channels > MAX_CHANNELS:
        raise AudioError(f"{name}: {channels} channels is not supported; allowed: 1-{MAX_CHANNELS} (a corrupt header?)")
    check_rate(rate, name)
    return channels, rate, bits, is_float


def check_rate(rate: int, name: str) -> None:
    """AudioError naming the file unless ``rate`` (Hz) is within MIN_RATE..MAX_RATE."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{shown(name)}: sample rate {rate} Hz is not supported; allowed: {MIN_RATE}-{MAX_RATE} Hz")


def _data_info(name: str, fmt: tuple[int, int, int, bool], offset: int, size: int,
               file_size: Optional[int]) -> WavInfo:
    channels, rate, bits, is_float = fmt
    if file_size is None:  # a stream: a length left unknown by its writer means "to the end"
        if size in _UNKNOWN_SIZES:
            size = OPEN_ENDED
    elif size > file_size - offset:
        present = file_size - offset
        if size not in _UNKNOWN_SIZES:
            raise AudioError(f"{shown(name)}: truncated WAV: header promises {size} bytes of audio, the file holds {present}")
        size = present  # a streamed WAV whose writer could not fill in the length
    info = WavInfo(name, rate, channels, bits, is_float, offset, size)
    if info.frames == 0:
        raise AudioError(f"{shown(name)}: holds no audio samples (empty data chunk)")
    return info


def _decode(raw: bytes, info: WavInfo) -> np.ndarray:
    """Little-endian sample bytes -> float32 (frames, channels) in [-1, 1]."""
    if info.is_float:
        wide = np.frombuffer(raw, dtype="<f4" if info.bits == 32 else "<f8")
        if not np.all(np.isfinite(wide)):
            raise AudioError(f"{shown(info.path)}: float WAV holds NaN or infinite samples")
        # clip before narrowing: beyond full scale is clipping anyway, and 1e300 must not become inf
        x = np.clip(wide, -1.0, 1.0).astype(np.float32)
    elif info.bits == 8:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif info.bits == 16:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif info.bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    else:
        x = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    return x.reshape(-1, info.channels)

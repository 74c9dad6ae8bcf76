"""WAV reading with the standard library and NumPy only (no libsndfile on the device).

Supports RIFF/WAVE with PCM 8 (unsigned), 16, 24 and 32-bit integers, 32/64-bit IEEE
float, WAVE_FORMAT_EXTENSIBLE wrapping either, any channel count. Samples come out
as float32 in [-1, 1], shape (frames, channels); float samples beyond full scale are
clipped to it, NaN or infinite ones are refused. Every problem is an `AudioError`
that names the file, and no header field, however corrupt, makes the reader allocate
more than the file holds.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import numpy as np

from ser_edge.errors import AudioError

PCM, IEEE_FLOAT, EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
#: sample rates accepted, Hz: below, resampling to the model rate would multiply the data;
#: above, no audio interface records (a corrupt header says 4 GHz)
MIN_RATE, MAX_RATE = 4000, 768000
# data sizes that streaming writers (arecord to a pipe, sox -t wav -) leave in the header
_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000)


@dataclass(frozen=True)
class WavInfo:
    """What the header says. ``data_offset``/``data_bytes`` locate the samples in bytes."""

    path: str
    sample_rate: int  # Hz
    channels: int
    bits: int  # bits per sample
    is_float: bool
    data_offset: int
    data_bytes: int

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
        return _parse_header(f, name, os.fstat(f.fileno()).st_size)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Whole file -> (samples float32 of shape (frames, channels), sample rate in Hz)."""
    info = read_wav_info(path)
    with open_audio_file(info.path) as f:
        f.seek(info.data_offset)
        raw = f.read(info.frames * info.frame_bytes)
    return _decode(raw, info), info.sample_rate


def iter_wav_blocks(path: str | os.PathLike, block_frames: int) -> Iterator[np.ndarray]:
    """Stream a WAV in blocks of ``block_frames`` frames, float32 (n, channels); bounded memory."""
    info = read_wav_info(path)
    with open_audio_file(info.path) as f:
        f.seek(info.data_offset)
        left = info.frames
        while left > 0:
            n = min(block_frames, left)
            raw = f.read(n * info.frame_bytes)
            if not raw:
                return
            yield _decode(raw[: len(raw) // info.frame_bytes * info.frame_bytes], info)
            left -= n


def open_audio_file(name: str) -> BinaryIO:
    """Open for binary reading; OS errors become one-line `AudioError`s naming the file."""
    try:
        return open(name, "rb")
    except IsADirectoryError:
        raise AudioError(f"{name}: is a directory, not an audio file") from None
    except FileNotFoundError:
        raise AudioError(f"{name}: no such file") from None
    except PermissionError:
        raise AudioError(f"{name}: cannot read it (permission denied)") from None
    except OSError as exc:
        raise AudioError(f"{name}: cannot open it ({exc.strerror or exc})") from None


def _parse_header(f: BinaryIO, name: str, file_size: int) -> WavInfo:
    head = f.read(12)
    if len(head) == 0:
        raise AudioError(f"{name}: empty file (0 bytes)")
    kind = sniff(head)
    if kind == "aiff":
        raise AudioError(f"{name}: holds AIFF data, not WAV (despite its name); convert it to WAV or read it with soundfile")
    if kind != "wav":
        what = "not a WAV file" if kind == "unknown" else f"holds {kind.upper()} data, not WAV"
        raise AudioError(f"{name}: {what} (no RIFF/WAVE header)")
    if head[:4] != b"RIFF":
        raise AudioError(f"{name}: {head[:4].decode('ascii')} WAV files are not supported; only little-endian RIFF")
    fmt = None
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise AudioError(f"{name}: truncated WAV: no {'fmt ' if fmt is None else 'data'} chunk before the end of the file")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            left = file_size - f.tell()
            if size > left:  # read no more than is there: a corrupt size may claim 4 GB
                raise AudioError(f"{name}: truncated WAV: fmt chunk claims {size} bytes, the file holds {left} more")
            fmt = _parse_fmt(f.read(size), name)
            f.seek(size % 2, os.SEEK_CUR)
        elif cid == b"data":
            if fmt is None:
                raise AudioError(f"{name}: malformed WAV: data chunk before the fmt chunk")
            return _data_info(name, fmt, f.tell(), size, file_size)
        else:
            f.seek(size + size % 2, os.SEEK_CUR)  # chunks are padded to even sizes


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
    check_rate(rate, name)
    return channels, rate, bits, is_float


def check_rate(rate: int, name: str) -> None:
    """AudioError naming the file unless ``rate`` (Hz) is within MIN_RATE..MAX_RATE."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{name}: sample rate {rate} Hz is not supported; allowed: {MIN_RATE}-{MAX_RATE} Hz")


def _data_info(name: str, fmt: tuple[int, int, int, bool], offset: int, size: int, file_size: int) -> WavInfo:
    channels, rate, bits, is_float = fmt
    present = file_size - offset
    if size > present:
        if size not in _UNKNOWN_SIZES:
            raise AudioError(f"{name}: truncated WAV: header promises {size} bytes of audio, the file holds {present}")
        size = present  # a streamed WAV whose writer could not fill in the length
    info = WavInfo(name, rate, channels, bits, is_float, offset, size)
    if info.frames == 0:
        raise AudioError(f"{name}: holds no audio samples (empty data chunk)")
    return info


def _decode(raw: bytes, info: WavInfo) -> np.ndarray:
    """Little-endian sample bytes -> float32 (frames, channels) in [-1, 1]."""
    if info.is_float:
        wide = np.frombuffer(raw, dtype="<f4" if info.bits == 32 else "<f8")
        if not np.all(np.isfinite(wide)):
            raise AudioError(f"{info.path}: float WAV holds NaN or infinite samples")
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

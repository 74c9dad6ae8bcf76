"""Write WAV files of any encoding for tests (the stdlib wave module only writes PCM)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def wav_bytes(samples: np.ndarray, rate: int = 16000, *, bits: int = 16, is_float: bool = False,
              extensible: bool = False, data_size: int | None = None, extra_chunk: bool = False) -> bytes:
    """Encode float samples in [-1, 1], shape (n,) or (n, channels), as a RIFF/WAVE file."""
    x = np.asarray(samples, dtype=np.float64)
    x = x.reshape(len(x), -1) if x.ndim == 2 else x.reshape(-1, 1)
    channels = x.shape[1]
    data = _encode(x, bits, is_float)
    tag = 3 if is_float else 1
    block = channels * bits // 8
    if extensible:
        guid = struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0) + guid
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        chunks += b"LIST" + struct.pack("<I", 5) + b"INFOx\x00"  # odd size, padded
    size = len(data) if data_size is None else data_size
    chunks += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000, **kwargs) -> Path:
    path.write_bytes(wav_bytes(samples, rate, **kwargs))
    return path


def _encode(x: np.ndarray, bits: int, is_float: bool) -> bytes:
    if is_float:
        return x.astype("<f4" if bits == 32 else "<f8").tobytes()
    if bits == 8:
        return np.clip(np.round(x * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    scale = float(2 ** (bits - 1))
    v = np.clip(np.round(x * scale), -scale, scale - 1).astype(np.int64)
    if bits == 24:
        v = v & 0xFFFFFF
        return np.stack([(v >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8).tobytes()
    return v.astype("<i2" if bits == 16 else "<i4").tobytes()

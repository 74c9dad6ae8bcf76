"""Reverberation from simulated rooms (training only): the speaker at a distance in a shoebox room.

`room_impulse` draws a room (floor 3-10 m a side, 2.5-4 m high), a reverberation time RT60 in a
range (seconds: the time sound takes to decay by 60 dB) and a talker and a microphone 0.5-3 m
apart inside it, then simulates the impulse response with pyroomacoustics' image source method
(the field's library; absorption from the RT60 by Sabine's formula). `reverberate` convolves a
clip with it, aligned on the direct path so the speech does not start later, and keeps the
clip's length and active level. pyroomacoustics is imported here only: it belongs to the
training extra, never to the device.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

FLOOR_M = (3.0, 10.0)
HEIGHT_M = (2.5, 4.0)
DISTANCE_M = (0.5, 3.0)
MAX_ORDER = 12  # image-source reflections; the late tail beyond them is faint at these sizes


def room_impulse(rng: np.random.Generator, sample_rate: int, rt60_s: Tuple[float, float]) -> np.ndarray:
    """A room impulse response, float32 (n,), peak-normalised, from a room drawn with ``rng``."""
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(*FLOOR_M), rng.uniform(*FLOOR_M), rng.uniform(*HEIGHT_M)])
    rt60 = float(rng.uniform(*rt60_s))
    try:
        absorption, _ = pra.inverse_sabine(rt60, dims)
    except ValueError:  # a room too small for so long an RT60: the most reverberant it can be
        absorption = 0.01
    room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(absorption), max_order=MAX_ORDER)
    mic = _inside(rng, dims)
    source = mic + _direction(rng) * rng.uniform(*DISTANCE_M)
    room.add_source(np.clip(source, 0.3, dims - 0.3))
    room.add_microphone(mic)
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    return (rir / max(np.max(np.abs(rir)), 1e-12)).astype(np.float32)


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` (n,) float convolved with ``rir``, from its direct path on, cut to n samples and scaled
    to the same RMS as ``x``; float32."""
    start = int(np.argmax(np.abs(rir)))
    h = rir[start:].astype(np.float64)
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[: len(x)]
    rms_in, rms_out = float(np.sqrt(np.mean(np.square(x)))), float(np.sqrt(np.mean(np.square(y))))
    return (y * (rms_in / rms_out if rms_out > 0 else 1.0)).astype(np.float32)


def _inside(rng: np.random.Generator, dims: np.ndarray) -> np.ndarray:
    margin = np.minimum(1.0, dims / 4)
    return np.array([rng.uniform(m, d - m) for m, d in zip(margin, dims)])


def _direction(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    v[2] *= 0.2  # mostly level: talker and microphone at about the same height
    return v / np.linalg.norm(v)

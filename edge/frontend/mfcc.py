"""The one MFCC front end, NumPy only, for training and for the device.

Signal path for each frame of ``frame_length`` samples (every ``hop_length``):
pre-emphasis -> periodic window -> |rfft(n_fft)|^2 / n_fft (power) -> mel filterbank
-> natural log(max(energy, log_floor)) -> orthonormal DCT-II -> lifter -> (optional) c0
replaced by log frame power. Only whole frames are produced, so that the
streaming form (`StreamingMfcc`) gives exactly the frames of the whole-signal form.

Audio is float in [-1, 1] (the scale matters only relative to ``log_floor``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .params import FeatureParams, frames_in

#: frames per pass through the FFT in `MfccExtractor.from_frames`: a 1 s block (100 frames) at
#: once made ~1.5 MB of temporaries, half a MB of a `classify` process's peak RSS
CHUNK_FRAMES = 32


class _Matrices(NamedTuple):
    window: np.ndarray  # (frame_length,) float64
    mel: np.ndarray  # (n_fft//2 + 1, n_mels) float64, transposed for pspec @ mel
    dct: np.ndarray  # (n_mels, n_mfcc) float64, lifter folded in


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 2595 * log10(1 + f / 700 Hz)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of `hz_to_mel`, in Hz."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def analysis_window(name: str, length: int) -> np.ndarray:
    """Periodic taper of ``length`` samples (as used for spectral analysis), float64."""
    n = np.arange(length, dtype=np.float64)
    if name == "rect":
        return np.ones(length)
    if name == "hann":
        return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)
    return 0.54 - 0.46 * np.cos(2.0 * np.pi * n / length)  # hamming


def mel_filterbank(params: FeatureParams) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, n_fft//2 + 1), float64, unnormalised (peak 1)."""
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(params.fmin_hz), hz_to_mel(params.mel_fmax_hz), params.n_mels + 2))
    if params.filterbank == "fft_bins":
        return _fft_bin_filters(edges_hz, params)
    return _continuous_filters(edges_hz, params)


def _continuous_filters(edges_hz: np.ndarray, params: FeatureParams) -> np.ndarray:
    # triangles evaluated at each FFT bin's centre frequency (librosa htk=True, norm=None)
    freqs = np.linspace(0.0, params.sample_rate / 2.0, params.n_fft // 2 + 1)
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    return np.maximum(0.0, np.minimum(rising, falling))


def _fft_bin_filters(edges_hz: np.ndarray, params: FeatureParams) -> np.ndarray:
    # edges floored to FFT bins, exactly as python_speech_features.get_filterbanks
    bins = np.floor((params.n_fft + 1) * edges_hz / params.sample_rate).astype(int)
    bank = np.zeros((params.n_mels, params.n_fft // 2 + 1))
    for j in range(params.n_mels):
        lo, mid, hi = bins[j], bins[j + 1], bins[j + 2]
        if mid > lo:
            bank[j, lo:mid] = (np.arange(lo, mid) - lo) / (mid - lo)
        if hi > mid:
            bank[j, mid:hi] = (hi - np.arange(mid, hi)) / (hi - mid)
    return bank


def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II as a matrix of shape (n_in, n_out): ``x @ D`` = dct(x, norm='ortho')[:n_out]."""
    n = np.arange(n_in, dtype=np.float64)
    k = np.arange(n_out, dtype=np.float64)
    basis = np.cos(np.pi * k[None, :] * (2.0 * n[:, None] + 1.0) / (2.0 * n_in)) * np.sqrt(2.0 / n_in)
    basis[:, 0] *= np.sqrt(0.5)
    return basis


def lifter_weights(n_mfcc: int, lifter: int) -> np.ndarray:
    """Sinusoidal lifter 1 + (L/2) sin(pi k / L), shape (n_mfcc,); ones when L == 0."""
    if lifter <= 0:
        return np.ones(n_mfcc)
    return 1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(n_mfcc) / lifter)


@functools.lru_cache(maxsize=8)
def _matrices(params: FeatureParams) -> _Matrices:
    """Window, filterbank and DCT for one parameter set, built once and cached."""
    dct = dct_matrix(params.n_mels, params.n_mfcc) * lifter_weights(params.n_mfcc, params.lifter)[None, :]
    window = analysis_window(params.window, params.frame_length)
    mel = np.ascontiguousarray(mel_filterbank(params).T)
    for matrix in (window, mel, dct):
        matrix.setflags(write=False)  # shared through the cache: nobody may change them
    return _Matrices(window=window, mel=mel, dct=dct)


def preemphasis(signal: np.ndarray, coeff: float, previous: float = 0.0) -> np.ndarray:
    """y[n] = x[n] - coeff * x[n-1], with x[-1] = ``previous``; float64, same shape as ``signal``."""
    x = np.asarray(signal, dtype=np.float64)
    if coeff == 0.0 or x.size == 0:
        return x.copy()
    out = np.empty_like(x)
    out[0] = x[0] - coeff * previous
    out[1:] = x[1:] - coeff * x[:-1]
    return out


def frame_signal(signal: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Read-only view of the whole frames of a 1-D signal, shape (frames, frame_length)."""
    n = frames_in(signal.shape[0], frame_length, hop_length)
    if n == 0:
        return np.zeros((0, frame_length), dtype=signal.dtype)
    step = signal.strides[0]
    return np.lib.stride_tricks.as_strided(
        signal, shape=(n, frame_length), strides=(hop_length * step, step), writeable=False
    )


def _rowwise_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` whose rows do not depend on how many rows there are.

    BLAS picks kernels (and summation orders) by matrix size, so a frame computed
    alone would differ in the last bits from the same frame in a batch; einsum's
    plain loops do not, which is what makes streaming bit-exact. Cost: ~4 us/frame.
    """
    return np.einsum("ij,jk->ik", a, b, optimize=False)


class MfccExtractor:
    """MFCCs for one `FeatureParams`; the matrices are built once per parameter set."""

    def __init__(self, params: FeatureParams):
        self.params = params
        self._m = _matrices(params)

    def power_spectrum(self, frames: np.ndarray) -> np.ndarray:
        """(frames, frame_length) pre-emphasised samples -> power (frames, n_fft//2+1), float64."""
        spectrum = np.fft.rfft(frames * self._m.window, n=self.params.n_fft, axis=1)
        return (spectrum.real**2 + spectrum.imag**2) / self.params.n_fft

    def mel_power(self, power: np.ndarray) -> np.ndarray:
        """Power spectra (frames, n_fft//2+1) -> mel filterbank energies (frames, n_mels), float64, power units."""
        return _rowwise_matmul(power, self._m.mel)

    def from_frames(self, frames: np.ndarray) -> np.ndarray:
        """(frames, frame_length) pre-emphasised samples -> MFCC (frames, n_mfcc), float32.

        `CHUNK_FRAMES` frames at a time: every step is row by row, so the frames are the same,
        and the float64 temporaries (spectrum, power, mel) stay small whatever the block size."""
        n = frames.shape[0]
        if n <= CHUNK_FRAMES:
            return self._from_frames(frames)
        return np.concatenate([self._from_frames(frames[i: i + CHUNK_FRAMES]) for i in range(0, n, CHUNK_FRAMES)])

    def _from_frames(self, frames: np.ndarray) -> np.ndarray:
        if frames.shape[0] == 0:
            return np.zeros((0, self.params.n_mfcc), dtype=np.float32)
        return self.from_power(self.power_spectrum(frames))

    def from_power(self, power: np.ndarray) -> np.ndarray:
        """Power spectra (frames, n_fft//2+1) from `power_spectrum` -> MFCC (frames, n_mfcc), float32."""
        p = self.params
        cepstra = _rowwise_matmul(np.log(np.maximum(self.mel_power(power), p.log_floor)), self._m.dct)
        if p.energy_c0:
            cepstra[:, 0] = np.log(np.maximum(power.sum(axis=1), p.log_floor))
        return cepstra.astype(np.float32)

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        """Whole-signal MFCC: 1-D float audio -> (frames, n_mfcc) float32 (whole frames only)."""
        x = preemphasis(np.asarray(signal).reshape(-1), self.params.preemphasis)
        return self.from_frames(frame_signal(x, self.params.frame_length, self.params.hop_length))

    def stream(self) -> "StreamingMfcc":
        """A fresh streaming extractor sharing this extractor's matrices."""
        return StreamingMfcc(self)


class StreamingMfcc:
    """Blocks of any size in, MFCC frames out: the same frames as the whole-signal form."""

    def __init__(self, extractor: MfccExtractor):
        self._x = extractor
        self._previous = 0.0  # last raw sample, for pre-emphasis across blocks
        self._pending = np.zeros(0, dtype=np.float64)  # pre-emphasised, not yet framed
        self.frames_out = 0  # frames produced so far: frame k starts at sample k*hop_length

    def push(self, block: np.ndarray) -> np.ndarray:
        """Add 1-D float samples; return the newly completed frames, (n, n_mfcc) float32."""
        frames = self._frames(block)
        out = self._x.from_frames(frames)
        self._advance(frames.shape[0])
        return out

    def push_with_power(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As `push`, and the frames' power spectra (n, n_fft//2+1) float64 too (the MFCC is the
        same): for the spectral columns of `ser_edge.frontend.prosody`, without a second FFT."""
        frames = self._frames(block)
        power = self._x.power_spectrum(frames)
        out = self._x.from_power(power) if frames.shape[0] else self._x.from_frames(frames)
        self._advance(frames.shape[0])
        return out, power

    def _frames(self, block: np.ndarray) -> np.ndarray:
        p = self._x.params
        x = np.asarray(block).reshape(-1)
        if x.size:
            emphasised = preemphasis(x, p.preemphasis, self._previous)
            self._previous = float(x[-1])
            self._pending = np.concatenate([self._pending, emphasised])
        return frame_signal(self._pending, p.frame_length, p.hop_length)

    def _advance(self, n: int) -> None:
        if n:
            self._pending = self._pending[n * self._x.params.hop_length :].copy()
            self.frames_out += n

    def reset(self) -> None:
        """Forget all state, as if the stream started again."""
        self._previous = 0.0
        self._pending = np.zeros(0, dtype=np.float64)
        self.frames_out = 0

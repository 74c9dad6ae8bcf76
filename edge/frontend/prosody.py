"""Prosody beside the MFCC, NumPy only, for training and for the device: one row per MFCC frame.

Columns (`PROSODY_COLUMNS`), float32, shape (frames, 7):

* ``log_f0``: natural log of F0 in Hz from a YIN tracker (difference function by FFT,
  cumulative mean normalised difference "CMND", absolute threshold, parabolic interpolation),
  searched over ``f0_min_hz``..``f0_max_hz`` (default 60-800 Hz: low men's voices up to
  children's and high-arousal speech); **0.0 on unvoiced frames** (never NaN; ``voiced`` tells);
* ``voicing``: periodicity in [0, 1], 1 - the CMND at the chosen lag (1 = perfectly periodic);
* ``voiced``: 1.0 when ``voicing`` > ``voicing_threshold`` (the YIN dip is below 1 - threshold), else 0.0;
* ``log_energy``: natural log of the mean square of the frame's raw samples (no pre-emphasis,
  no window; full scale = 0, -23.03 = -100 dBFS), floored at `ENERGY_FLOOR`;
* ``spectral_centroid_hz``, ``spectral_flatness`` (geometric / arithmetic mean of the power,
  in [0, 1]; 1 for silence): of the MFCC's own power spectrum (pre-emphasised, windowed);
* ``zero_crossing_rate``: share of the frame's adjacent sample pairs that change sign, [0, 1].

The tracker works at half the sample rate (`decimated`, when that keeps 8 samples per period of
``f0_max_hz``), in float64, on one FFT call for all the frames of a block.

Alignment: row i belongs to MFCC frame i (samples ``i*hop .. i*hop + frame_length``). The F0
needs about two periods of ``f0_min_hz`` (`YinPlan.span`: 540 samples, 33.75 ms at 60 Hz and
16 kHz), so its span ends where the MFCC frame ends and reaches ``lookback`` samples (140,
8.75 ms) before the frame's start; the samples before the signal's start are zeros. No latency
is added: each row is ready with the push that completes its MFCC frame, and the F0 describes
audio centred 4.4 ms before the MFCC frame's centre. The streaming form gives bit-identical rows
for any block size, and the whole-signal form the same rows again.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple, Optional

import numpy as np

from .mfcc import MfccExtractor
from .params import FeatureParams, frames_in

PROSODY_COLUMNS = ("log_f0", "voicing", "voiced", "log_energy", "spectral_centroid_hz", "spectral_flatness",
                   "zero_crossing_rate")
#: floor of the mean square before the log: 1e-10 = -100 dBFS (digital silence gives -23.03)
ENERGY_FLOOR = 1e-10
#: rows per pass in `ProsodyExtractor.from_signal`: a 0.5 s hop (50 frames) in one pass, ~0.5 MB of temporaries
CHUNK_FRAMES = 64
#: floor of each power bin for the spectral flatness (power units of `MfccExtractor.power_spectrum`)
FLATNESS_FLOOR = 1e-10


class YinPlan(NamedTuple):
    """Lags and lengths of the tracker for one `FeatureParams`; lags in samples at the tracker's
    rate (``sample_rate / decimate``), lengths of raw audio in samples at ``sample_rate``."""

    decimate: int  # 2 (a [1, 3, 3, 1] low-pass, then every other sample) when that keeps
    #                8 samples per period of f0_max_hz and the hop is even, else 1
    tau_min: int  # shortest lag searched: floor(rate / f0_max_hz)
    tau_max: int  # the CMND is computed for lags 1..tau_max; lags up to tau_max - 1 are searched
    window: int  # W: samples compared with their shifted copy (one longest period)
    span: int  # raw samples one F0 value looks at (W + tau_max at the tracker's rate)
    lookback: int  # span - frame_length: raw samples before the MFCC frame's start (>= 1)
    n_fft: int  # FFT size of the difference function (>= W + tau_max, 5-smooth)
    freqs: np.ndarray  # (n_fft//2 + 1,) Hz of the MFCC power spectrum's bins (MFCC's n_fft)


def _smooth_size(n: int) -> int:
    """Smallest integer >= n with no prime factor above 5 (a fast FFT size)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


@functools.lru_cache(maxsize=8)
def yin_plan(params: FeatureParams) -> YinPlan:
    """The decimation, lags, span and FFT size for ``params`` (cached)."""
    sr, frame = params.sample_rate, params.frame_length
    q = 2 if sr / 2.0 >= 8.0 * params.f0_max_hz and params.hop_length % 2 == 0 else 1
    rate = sr / q
    period = math.ceil(rate / params.f0_min_hz)  # longest period, samples at the tracker's rate
    tau_max = period + 1  # one more lag for the parabola around the longest period
    needed = (period + tau_max) * q + (2 if q == 2 else 0)  # the 4-tap filter reads 2 samples more
    span = max(needed, frame + 1)  # + 1: the sample before the frame, for pre-emphasis
    window = (span - (2 if q == 2 else 0)) // q - tau_max
    freqs = np.linspace(0.0, sr / 2.0, params.n_fft // 2 + 1)
    freqs.setflags(write=False)
    return YinPlan(decimate=q, tau_min=max(2, int(rate // params.f0_max_hz)), tau_max=tau_max, window=window,
                   span=span, lookback=span - frame, n_fft=_smooth_size(window + tau_max), freqs=freqs)


def _frames(x: np.ndarray, length: int, hop: int, count: int) -> np.ndarray:
    """Read-only view of ``count`` frames of ``length`` samples every ``hop`` of a contiguous 1-D
    array that holds them (`mfcc.frame_signal` without its checks, a few us a call fewer)."""
    view = np.ndarray((count, length), dtype=x.dtype, buffer=x, offset=0, strides=(hop * x.itemsize, x.itemsize))
    view.flags.writeable = False
    return view


def decimated(x: np.ndarray, plan: YinPlan, hop: int, frames: int) -> np.ndarray:
    """1-D raw samples holding ``frames`` spans, one every ``hop`` -> (2, frames, window + tau_max)
    at the tracker's rate: [0] each span, [1] its first ``window`` samples followed by zeros
    (the two inputs of `cmnd`'s FFT).

    Decimation by 2, once for the whole buffer: z[k] = x[2k] + 3 x[2k+1] + 3 x[2k+2] + x[2k+3] (a
    binomial low-pass; at 16 kHz -2 dB at 2 kHz, -9 dB at 4 kHz, zero at 8 kHz; its gain of 8 does
    not matter to the CMND). Each z[k] depends on its four samples only, so the spans are the
    same however the signal was cut into buffers."""
    n = plan.window + plan.tau_max
    both = np.zeros((2, frames, n))
    if plan.decimate == 1:
        both[0] = _frames(x, n, hop, frames)
    else:
        pairs = x[1:] + x[:-1]  # x[j] + x[j+1]
        quads = pairs[1:] + pairs[:-1]  # x[j] + 2 x[j+1] + x[j+2]
        half = quads.shape[0] // 2
        z = quads[0: 2 * half: 2] + quads[1: 2 * half: 2]
        both[0] = _frames(z, n, hop // 2, frames)
    both[1, :, :plan.window] = both[0, :, :plan.window]
    return both


def cmnd(both: np.ndarray, plan: YinPlan) -> np.ndarray:
    """YIN's cumulative mean normalised difference at lags 1..tau_max (column k: lag k + 1).

    ``both``: (2, frames, window + tau_max) from `decimated`; out: (frames, tau_max).
    d(tau) = sum_{j<W} (y_j - y_{j+tau})^2 = e(0) + e(tau) - 2 r(tau), with r by FFT and the
    energies e by a running sum; CMND(tau) = d(tau) * tau / sum_{k=1..tau} d(k), and
    1 where that sum is 0 (silence)."""
    n, w, top = plan.n_fft, plan.window, plan.tau_max
    spectra = np.fft.rfft(both, n=n, axis=2)  # one call: numpy's FFT costs ~7 us a call before any work
    head = np.conjugate(spectra[1], out=spectra[1])
    head *= spectra[0]
    r = np.fft.irfft(head, n=n, axis=1)[:, 1: top + 1]
    y = both[0]
    c = np.add.accumulate(y * y, axis=1)  # c[k] = sum of y_j^2 for j <= k (cumsum, without its wrapper)
    d = c[:, w: w + top] - c[:, :top]  # e(tau), tau = 1..top
    d += c[:, w - 1: w]  # + e(0)
    r *= 2
    d -= r
    np.maximum(d, 0, out=d)
    running = np.add.accumulate(d, axis=1)
    d *= _lags(top)
    d += _TINY
    running += _TINY  # silence: (0 + tiny) / (0 + tiny) = 1
    return np.divide(d, running, out=d)


_TINY = 1e-300  # far below any real sum of squares


@functools.lru_cache(maxsize=8)
def _lags(top: int) -> np.ndarray:
    lags = np.arange(1.0, top + 1.0)
    lags.setflags(write=False)
    return lags


_AROUND = np.array([-1, 0, 1])


def pick_lags(curve: np.ndarray, plan: YinPlan, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The chosen lag (fractional, samples at the tracker's rate) and its CMND value per row of
    ``curve`` (frames, tau_max) from `cmnd`, both (frames,) float64.

    The first dip below ``threshold`` in lags tau_min..tau_max-1, followed down to its local
    minimum; without one, the lowest point there. The lag is refined by a parabola through its
    neighbours (YIN's parabolic interpolation), by at most one sample."""
    seg = curve[:, plan.tau_min - 1: plan.tau_max - 1]
    rows = np.arange(seg.shape[0])
    bottom = np.empty(seg.shape, dtype=bool)  # where a descent stops: the next value is not lower
    np.greater_equal(seg[:, 1:], seg[:, :-1], out=bottom[:, :-1])
    bottom[:, -1] = True
    bottom &= seg < threshold  # the first such point is the bottom of the first dip below the threshold
    best = bottom.argmax(axis=1)
    best = np.where(bottom[rows, best], best, seg.argmin(axis=1)) + (plan.tau_min - 1)
    around = curve[rows[:, None], best[:, None] + _AROUND]
    a, b, c = around.T
    bend = a + c
    bend -= 2.0 * b
    shift = np.maximum(np.minimum((a - c) / np.maximum(2.0 * bend, 1e-12), 1.0), -1.0)
    shift += best
    shift += 1.0
    return shift, around[:, 1]


def spectral_shape(power: np.ndarray, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Centroid (Hz) and flatness of power spectra (frames, n_fft//2 + 1) from
    `MfccExtractor.power_spectrum`, each (frames,) float64. Flatness is the geometric over the
    arithmetic mean of the bins floored at `FLATNESS_FLOOR`, in [0, 1] (1 for silence), as
    librosa's ``spectral_flatness`` of a power spectrum; the centroid of silence is 0 Hz."""
    centroid = np.einsum("ij,j->i", power, yin_plan(params).freqs, optimize=False)
    centroid /= np.maximum(power.sum(axis=1), _TINY)
    floored = np.maximum(power, FLATNESS_FLOOR)
    bins = 1.0 / power.shape[1]
    log_ratio = np.log(floored).sum(axis=1) * bins - np.log(floored.sum(axis=1) * bins)
    return centroid, np.minimum(np.exp(log_ratio, out=log_ratio), 1.0)


class ProsodyExtractor:
    """Prosody rows for one `FeatureParams` (``prosody`` need not be on to compute them)."""

    def __init__(self, params: FeatureParams):
        self.params = params
        self.plan = yin_plan(params)
        self._mfcc = MfccExtractor(params)  # its window and power spectrum, not its cepstra
        self._log_range = (math.log(params.f0_min_hz), math.log(params.f0_max_hz))
        self.hop = params.hop_length  # samples; a property that computes, read once

    def from_signal(self, x: np.ndarray, power: Optional[np.ndarray] = None) -> np.ndarray:
        """1-D float64 samples -> (frames, 7) float32, one row per whole span of ``plan.span``
        samples every hop; each span ends where its MFCC frame ends, so ``x`` starts
        ``plan.lookback`` samples before the first MFCC frame (zeros before a signal's start).

        ``power``: the MFCC frames' power spectra, (frames, n_fft//2+1) from
        `StreamingMfcc.push_with_power` or `MfccExtractor.power_spectrum`, if the caller has them
        (else they are computed: the same numbers, one FFT more). `CHUNK_FRAMES` rows at a
        time: every step is row by row, so the rows are the same whatever the block size."""
        hop, span = self.hop, self.plan.span
        n = frames_in(x.shape[0], span, hop)
        if power is not None and power.shape != (n, self.params.n_fft // 2 + 1):
            raise ValueError(f"power spectra of shape {power.shape} for {n} frames; "
                             f"expected ({n}, {self.params.n_fft // 2 + 1})")
        if n <= CHUNK_FRAMES:
            return self._rows(x, n, power)
        parts = []
        for i in range(0, n, CHUNK_FRAMES):
            m = min(CHUNK_FRAMES, n - i)
            parts.append(self._rows(x[i * hop: (i + m - 1) * hop + span], m,
                                    None if power is None else power[i: i + m]))
        return np.concatenate(parts)

    def _rows(self, x: np.ndarray, n: int, power: Optional[np.ndarray]) -> np.ndarray:
        p, plan = self.params, self.plan
        out = np.zeros((n, len(PROSODY_COLUMNS)), dtype=np.float32)
        if n == 0:
            return out
        threshold = 1.0 - p.voicing_threshold
        x = np.ascontiguousarray(x)
        lag, dip = pick_lags(cmnd(decimated(x, plan, self.hop, n), plan), plan, threshold)
        voiced = dip < threshold
        log_f0 = np.subtract(math.log(p.sample_rate / plan.decimate), np.log(lag))
        log_f0 = np.minimum(np.maximum(log_f0, self._log_range[0]), self._log_range[1])
        np.copyto(out[:, 0], log_f0, where=voiced, casting="same_kind")
        np.subtract(1.0, np.minimum(dip, 1.0), out=out[:, 1], casting="same_kind")
        out[:, 2] = voiced
        self._frame_columns(_frames(x, plan.span, self.hop, n), power, out)
        return out

    def _frame_columns(self, x: np.ndarray, power: Optional[np.ndarray], out: np.ndarray) -> None:
        """Log energy, spectral centroid and flatness, zero-crossing rate of each MFCC frame into ``out``."""
        p, lookback, length = self.params, self.plan.lookback, self.plan.span - self.plan.lookback
        frames = x[:, lookback:]
        mean_square = np.einsum("ij,ij->i", frames, frames, optimize=False) * (1.0 / length)
        np.log(np.maximum(mean_square, ENERGY_FLOOR), out=out[:, 3], casting="same_kind")
        if power is None:
            emphasised = frames - p.preemphasis * x[:, lookback - 1: -1]  # exactly `mfcc.preemphasis`
            power = self._mfcc.power_spectrum(emphasised)
        out[:, 4], out[:, 5] = spectral_shape(power, p)
        signs = np.signbit(frames)
        out[:, 6] = (signs[:, 1:] != signs[:, :-1]).sum(axis=1) * (1.0 / (length - 1))

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        """Whole-signal prosody: 1-D float audio -> (frames, 7) float32, one row per MFCC frame."""
        x = np.concatenate([np.zeros(self.plan.lookback), np.asarray(signal, dtype=np.float64).reshape(-1)])
        return self.from_signal(x)

    def stream(self) -> "StreamingProsody":
        """A fresh streaming extractor sharing this one's plan and matrices."""
        return StreamingProsody(self)


class StreamingProsody:
    """Blocks of any size in, prosody rows out: the same rows as the whole-signal form, each
    returned by the same push that completes its MFCC frame."""

    def __init__(self, extractor: ProsodyExtractor):
        self._x = extractor
        self.reset()

    def push(self, block: np.ndarray, power: Optional[np.ndarray] = None) -> np.ndarray:
        """Add 1-D float samples; return the newly completed rows, (n, 7) float32. ``power``: the
        power spectra that a `StreamingMfcc` fed the same blocks returned with this block
        (`StreamingMfcc.push_with_power`), to spare an FFT a frame; the rows are the same."""
        x = np.asarray(block, dtype=np.float64).reshape(-1)
        if x.size:
            self._pending = np.concatenate([self._pending, x])
        out = self._x.from_signal(self._pending, power)
        if out.shape[0]:
            self._pending = self._pending[out.shape[0] * self._x.hop:].copy()
            self.frames_out += out.shape[0]
        return out

    def reset(self) -> None:
        """Forget all state, as if the stream started again (from silence)."""
        self._pending = np.zeros(self._x.plan.lookback, dtype=np.float64)
        self.frames_out = 0

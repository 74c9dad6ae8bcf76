"""What rooms and recording chains add to clean speech: noise at an SNR, and channel colouring.

Signals are 1-D float arrays at ``sample_rate`` Hz. Noise generators return
float64 (n,) at unit mean power, so that `mix_at_snr` alone sets the level.
SNR is measured against the clip's *active* speech power (`active_power`), so
that a clip padded with silence (RAVDESS) and one that is not (TESS) get the
same noise during speech for the same SNR.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import scipy.fft

from ser_edge.audio.read import load_audio, resample
from ser_edge.errors import ConfigError

#: noise kinds `AugmentConfig.noise_types` may name
NOISE_TYPES: Tuple[str, ...] = ("white", "pink", "brown", "babble", "real")
NOISE_EXTENSIONS: Tuple[str, ...] = (".wav", ".flac", ".ogg", ".aif", ".aiff")
#: telephone band (G.712 passband), Hz: the -6 dB points of `channel_filter`'s band-pass
TELEPHONE_HZ: Tuple[float, float] = (300.0, 3400.0)

_LOWEST_NOISE_HZ = 20.0  # coloured noise below this is inaudible and below the mel filters


def active_power(x: np.ndarray, sample_rate: int, *, frame_s: float = 0.02, range_db: float = 30.0) -> float:
    """Mean power (squared amplitude) of the 20 ms frames within ``range_db`` dB of the loudest."""
    hop = max(1, int(round(frame_s * sample_rate)))
    x = np.asarray(x, dtype=np.float64)
    if x.size < hop:
        return float(np.mean(x**2)) if x.size else 0.0
    power = np.mean(x[: x.size // hop * hop].reshape(-1, hop) ** 2, axis=1)
    return float(power[power >= power.max() * 10.0 ** (-range_db / 10.0)].mean())


def mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float, sample_rate: int) -> np.ndarray:
    """``x`` plus ``noise`` (same length) scaled so that active_power(x) / mean(noise²) = snr_db; float32."""
    signal_power = active_power(x, sample_rate)
    noise_power = float(np.mean(np.square(noise, dtype=np.float64)))
    if signal_power == 0.0 or noise_power == 0.0:  # nothing to measure against: leave the clip alone
        return np.array(x, dtype=np.float32)
    scale = np.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (x + scale * noise).astype(np.float32)


def coloured_noise(kind: str, n: int, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """White, pink (power ∝ 1/f) or brown (∝ 1/f²) Gaussian noise, (n,) float64, unit power."""
    white = rng.standard_normal(n)
    if kind == "white":
        return _unit_power(white)
    exponent = {"pink": 0.5, "brown": 1.0}[kind]  # on amplitude, so power goes as f^(-2*exponent)

    def slope(f: np.ndarray) -> np.ndarray:
        return np.where(f >= _LOWEST_NOISE_HZ, np.maximum(f, _LOWEST_NOISE_HZ) ** -exponent, 0.0)

    return _unit_power(apply_spectral_gain(white, slope, sample_rate))


def babble(pool: Sequence[np.ndarray], n: int, rng: np.random.Generator, sample_rate: int,
           clips: Tuple[int, int] = (3, 6)) -> np.ndarray:
    """Sum of ``clips`` (low, high inclusive) random talkers from ``pool``, each at equal active
    power, from a random start (wrapping round); (n,) float64, unit power. Uses all of a smaller pool."""
    usable = [c for c in pool if len(c)]
    count = min(int(rng.integers(clips[0], clips[1] + 1)), len(usable))
    mix = np.zeros(n)
    for i in rng.choice(len(usable), size=count, replace=False):
        talker = random_segment(usable[i], n, rng)
        power = active_power(talker, sample_rate)
        if power > 0.0:
            mix += talker / np.sqrt(power)
    return _unit_power(mix)


def real_noise(folder: str, n: int, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A random stretch of a random recording under ``folder``; (n,) float64, unit power."""
    files = noise_files(folder)
    recording = _load_noise(files[int(rng.integers(len(files)))], sample_rate)
    return _unit_power(random_segment(recording, n, rng))


@functools.lru_cache(maxsize=8)
def noise_files(folder: str) -> Tuple[str, ...]:
    """Audio files under ``folder`` (recursive, sorted); ConfigError if there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"augment setting noise_dir={folder!r} is invalid; allowed: None or an existing folder")
    files = tuple(sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in NOISE_EXTENSIONS))
    if not files:
        raise ConfigError(f"augment setting noise_dir={folder!r} holds no audio files; allowed: {', '.join(NOISE_EXTENSIONS)}")
    return files


@functools.lru_cache(maxsize=64)  # a few dozen decoded recordings; a whole noise corpus would not fit
def _load_noise(path: str, sample_rate: int) -> np.ndarray:
    return load_audio(path, sample_rate)


def random_segment(source: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``source`` from a random start, wrapping round (so short sources loop); float64."""
    start = int(rng.integers(len(source)))
    return np.asarray(source, dtype=np.float64)[(start + np.arange(n)) % len(source)]


def channel_filter(x: np.ndarray, sample_rate: int, *, tilt_db_per_octave: float = 0.0,
                   highpass_hz: Optional[float] = None, lowpass_hz: Optional[float] = None,
                   telephone: bool = False) -> np.ndarray:
    """A microphone / line response as one zero-phase spectral gain; (n,) float32.

    tilt: dB per octave about 1 kHz, over 100 Hz - 8 kHz (flat beyond). high-/low-pass:
    2nd-order Butterworth magnitudes (12 dB/octave, as cheap microphones roll off).
    telephone: raised-cosine band-pass, nothing below 250 Hz or above 3500 Hz, -6 dB at
    300 and 3400 Hz, flat 350-3300 Hz.
    """
    def gain(f: np.ndarray) -> np.ndarray:
        g = 10.0 ** (tilt_db_per_octave * np.log2(np.clip(f, 100.0, 8000.0) / 1000.0) / 20.0)
        safe = np.maximum(f, 1e-3)
        if highpass_hz is not None:
            g = g / np.sqrt(1.0 + (highpass_hz / safe) ** 4)
        if lowpass_hz is not None:
            g = g / np.sqrt(1.0 + (safe / lowpass_hz) ** 4)
        if telephone:
            g = g * _ramp(f, 250.0, 350.0) * (1.0 - _ramp(f, 3300.0, 3500.0))
        return g

    return apply_spectral_gain(x, gain, sample_rate).astype(np.float32)


def recorded_at(x: np.ndarray, sample_rate: int, low_rate: int) -> np.ndarray:
    """``x`` as if recorded at ``low_rate`` Hz: resampled down and back up (soxr); same length, float32."""
    if low_rate >= sample_rate:
        return np.array(x, dtype=np.float32)
    y = resample(resample(x, sample_rate, low_rate), low_rate, sample_rate)
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)].astype(np.float32)


def apply_spectral_gain(x: np.ndarray, gain: Callable[[np.ndarray], np.ndarray], sample_rate: int) -> np.ndarray:
    """Multiply the spectrum of ``x`` by ``gain(freqs_hz)`` (real, zero phase); (n,) float64."""
    n = len(x)
    m = scipy.fft.next_fast_len(n, real=True)  # a prime length would make the FFT 20x slower
    spectrum = scipy.fft.rfft(np.asarray(x, dtype=np.float64), m)
    return scipy.fft.irfft(spectrum * gain(scipy.fft.rfftfreq(m, 1.0 / sample_rate)), m)[:n]


def _ramp(f: np.ndarray, start: float, stop: float) -> np.ndarray:
    """0 below ``start``, 1 above ``stop``, a raised cosine between."""
    t = np.clip((f - start) / (stop - start), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def _unit_power(x: np.ndarray) -> np.ndarray:
    power = float(np.mean(x**2))
    return x / np.sqrt(power) if power > 0.0 else x

"""Augmentation of training clips only: audio effects before features, masks after.

`augment_audio` makes one augmented copy of a clip, applying each enabled kind
with its probability, in the order sound meets them: the speaker (speed, pitch),
the moment (time shift), the room (reverberation from a simulated room, additive noise), the recording chain
(microphone response, telephone band, a lower sample rate, gain). `spec_augment`
masks normalised MFCC windows (SpecAugment). Every random choice comes from the
caller's ``rng``, so a seeded Generator gives the same copies every run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import soxr

from ser_edge.config.versioned import Versioned, doc_field, require
from ser_edge.errors import ConfigError
from ser_train.features import noise as _noise
from ser_train.features.noise import NOISE_TYPES

#: Bumped when an augmentation's maths changes, so that cached augmented features are redone.
AUGMENT_VERSION = 1
SHIFT_MODES = ("circular", "pad")
Range = Optional[Tuple[float, float]]


def _doc(text: str, default: Any) -> Any:
    return doc_field(text, default=default)


@dataclass(frozen=True, kw_only=True)
class AugmentConfig(Versioned):
    """Which augmentations to apply to training clips, how often and how strongly.

    Each kind is off when its probability is 0 or its range is None. Field
    defaults are all off (``AugmentConfig() == AugmentConfig.off()``); `default`
    switches on a set chosen for unseen speakers, rooms and microphones. Dict form,
    checks and hash (a cache key for augmented features): `ser_edge.config.versioned`.
    """

    WHAT, VERSION_KEY, VERSION, SOURCE = "augment setting", "augment_version", AUGMENT_VERSION, "augment"

    copies: int = _doc("augmented copies made per training clip (the original is kept too); 0 = none", 0)
    reverb_p: float = _doc("probability of reverberation from a simulated room (ser_train.features.rooms), 0-1", 0.0)
    reverb_rt60_s: Range = _doc("reverberation time range, s (decay by 60 dB), drawn uniformly", (0.2, 0.8))
    noise_p: float = _doc("probability of adding noise, 0-1", 0.0)
    noise_snr_db: Range = _doc("SNR range, dB, drawn uniformly: clip's active speech power over noise power", (5.0, 30.0))
    noise_types: Tuple[str, ...] = _doc(
        "noise kinds drawn with equal chance: white, pink (power ∝ 1/f), brown (∝ 1/f²), babble "
        "(other clips from babble_pool), real (recordings under noise_dir)", ("white", "pink", "brown", "babble"))
    babble_clips: Tuple[int, int] = _doc("number of talkers mixed into babble, low-high inclusive, clips", (3, 6))
    noise_dir: Optional[str] = _doc("folder of noise recordings for the 'real' kind (searched recursively)", None)
    gain_p: float = _doc("probability of a gain change, 0-1", 0.0)
    gain_db: Range = _doc("gain range, dB (the output is scaled back down if it would pass ±1)", (-6.0, 6.0))
    shift_p: float = _doc("probability of a time shift, 0-1", 0.0)
    shift_max_s: float = _doc("largest time shift either way, seconds", 0.25)
    shift_mode: str = _doc("'circular' (samples wrap round) or 'pad' (zeros fill in, the far end is cut)", "circular")
    speed_p: float = _doc("probability of a speed change, 0-1", 0.0)
    speed_range: Range = _doc("speed factor range (>1 = faster, shorter, higher; tempo and pitch together)", (0.9, 1.1))
    pitch_p: float = _doc("probability of a pitch shift, 0-1", 0.0)
    pitch_semitones: Range = _doc("pitch shift range, semitones (duration kept)", (-2.0, 2.0))
    mic_p: float = _doc("probability of a random microphone response (tilt, high-pass, low-pass), 0-1", 0.0)
    mic_tilt_db_per_octave: Range = _doc("spectral tilt range about 1 kHz, dB/octave (100 Hz-8 kHz)", (-3.0, 3.0))
    mic_highpass_hz: Range = _doc("cut-off range of a 12 dB/octave high-pass, Hz", (50.0, 250.0))
    mic_lowpass_hz: Range = _doc("cut-off range of a 12 dB/octave low-pass, Hz", (3500.0, 8000.0))
    telephone_p: float = _doc("probability of band-limiting to the telephone band 300-3400 Hz, 0-1", 0.0)
    low_rate_p: float = _doc("probability of resampling down to a low rate and back, 0-1", 0.0)
    low_rates_hz: Tuple[int, ...] = _doc("rates for low_rate_p, Hz, drawn with equal chance", (8000, 11025))
    time_masks: int = _doc("SpecAugment time masks per window, count", 0)
    time_mask_frames: int = _doc("largest time mask, frames (10 ms each); widths drawn from 1 to it", 12)
    freq_masks: int = _doc("SpecAugment coefficient masks per window, count", 0)
    freq_mask_coeffs: int = _doc("largest coefficient mask, MFCC coefficients; widths from 1 to it", 4)
    mask_value: float = _doc("value written into masked cells, normalised units (0 = window mean)", 0.0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # JSON gives lists; keep tuples so configs compare and hash
            if isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """As `Versioned.to_dict`, without the reverberation fields while reverberation is off, so
        that configs (and cached augmented features) from before they existed keep their hash."""
        data = super().to_dict()
        if self.reverb_p == 0.0 and self.reverb_rt60_s == _REVERB_DEFAULT:
            data.pop("reverb_p"), data.pop("reverb_rt60_s")
        return data

    @classmethod
    def off(cls) -> "AugmentConfig":
        """No augmentation at all."""
        return cls()

    @classmethod
    def default(cls) -> "AugmentConfig":
        """Two copies per clip, aimed at unseen speakers, rooms and microphones."""
        return cls(copies=2, noise_p=0.6, gain_p=0.5, shift_p=0.5, speed_p=0.3, pitch_p=0.3, mic_p=0.3,
                   telephone_p=0.05, low_rate_p=0.1, time_masks=2, freq_masks=1)


_REVERB_DEFAULT = (0.2, 0.8)
_PROBABILITIES = ("reverb_p", "noise_p", "gain_p", "shift_p", "speed_p", "pitch_p", "mic_p", "telephone_p", "low_rate_p")
_RANGES = {  # field: (lowest, highest, unit)
    "reverb_rt60_s": (0.05, 3.0, "s"),
    "noise_snr_db": (-10.0, 60.0, "dB"), "gain_db": (-40.0, 40.0, "dB"), "speed_range": (0.5, 2.0, "x"),
    "pitch_semitones": (-12.0, 12.0, "semitones"), "mic_tilt_db_per_octave": (-12.0, 12.0, "dB/octave"),
    "mic_highpass_hz": (10.0, 2000.0, "Hz"), "mic_lowpass_hz": (1000.0, 48000.0, "Hz"),
}
_COUNTS = {"copies": 100, "time_masks": 20, "time_mask_frames": 1000, "freq_masks": 20, "freq_mask_coeffs": 100}


def _validate(c: AugmentConfig) -> None:
    def check(name: str, ok: bool, allowed: str) -> None:
        require(c, AugmentConfig.WHAT, name, ok, allowed)

    for name in _PROBABILITIES:
        check(name, _is_number(getattr(c, name)) and 0.0 <= getattr(c, name) <= 1.0, "a probability in [0, 1]")
    for name, (low, high, unit) in _RANGES.items():
        check(name, _is_range(getattr(c, name), low, high), f"None or [low, high] {unit} with {low:g} <= low <= high <= {high:g}")
    for name, most in _COUNTS.items():
        value = getattr(c, name)
        check(name, _is_int(value) and 0 <= value <= most, f"an integer in [0, {most}]")
    check("babble_clips", c.babble_clips is not None and _is_range(c.babble_clips, 1, 20) and all(map(_is_int, c.babble_clips)),
          "[low, high] talkers, integers with 1 <= low <= high <= 20")
    types = c.noise_types
    check("noise_types", isinstance(types, tuple) and all(isinstance(t, str) for t in types)
          and 0 < len(set(types)) == len(types) and set(types) <= set(NOISE_TYPES),
          f"a non-empty list without repeats of {', '.join(NOISE_TYPES)}")
    check("noise_dir", c.noise_dir is None or isinstance(c.noise_dir, str), "None or a folder path")
    check("noise_types", "real" not in types or c.noise_dir is not None, "'real' only with noise_dir set")
    check("shift_max_s", _is_number(c.shift_max_s) and 0.0 <= c.shift_max_s <= 5.0, "seconds in [0, 5]")
    check("shift_mode", c.shift_mode in SHIFT_MODES, ", ".join(SHIFT_MODES))
    check("low_rates_hz", isinstance(c.low_rates_hz, tuple) and all(_is_int(r) and 2000 <= r <= 48000 for r in c.low_rates_hz)
          and (len(c.low_rates_hz) > 0 or c.low_rate_p == 0), "a non-empty list of integer rates in [2000, 48000] Hz")
    check("mask_value", _is_number(c.mask_value) and math.isfinite(c.mask_value), "a finite number")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_range(v: Any, low: float, high: float) -> bool:
    return v is None or (isinstance(v, tuple) and len(v) == 2 and all(map(_is_number, v)) and low <= v[0] <= v[1] <= high)


def augment_audio(x: np.ndarray, *, rng: np.random.Generator, config: AugmentConfig, sample_rate: int = 16000,
                  babble_pool: Sequence[np.ndarray] = ()) -> np.ndarray:
    """One augmented copy of mono audio ``x`` (n,) float in [-1, 1] at ``sample_rate`` Hz.

    Returns a new float32 array (m,), m = n unless the speed changed, scaled down
    as a whole if its peak would pass 1. ``babble_pool``: other speech clips at
    ``sample_rate`` (training speakers only) for babble noise; babble is skipped
    when it is empty. With nothing applied the output equals the input.
    """
    y = np.array(x, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"augment_audio needs non-empty 1-D audio, got shape {y.shape}")
    c = config
    if _chance(rng, c.speed_p, c.speed_range):
        y = change_speed(y, _uniform(rng, c.speed_range), sample_rate)
    if _chance(rng, c.pitch_p, c.pitch_semitones):
        y = shift_pitch(y, _uniform(rng, c.pitch_semitones), sample_rate)
    if _chance(rng, c.shift_p, c.shift_max_s):
        most = round(c.shift_max_s * sample_rate)
        y = shift_time(y, int(rng.integers(-most, most, endpoint=True)), c.shift_mode)
    if _chance(rng, c.reverb_p, c.reverb_rt60_s):
        from ser_train.features.rooms import reverberate, room_impulse  # pyroomacoustics: only when asked for

        y = reverberate(y, room_impulse(rng, sample_rate, c.reverb_rt60_s))
    if _chance(rng, c.noise_p, c.noise_snr_db):
        noise = _draw_noise(len(y), rng, c, sample_rate, babble_pool)
        y = _noise.mix_at_snr(y, noise, _uniform(rng, c.noise_snr_db), sample_rate)
    y = _channel(y, rng, c, sample_rate)
    if _chance(rng, c.gain_p, c.gain_db):
        y = (y * 10.0 ** (_uniform(rng, c.gain_db) / 20.0)).astype(np.float32)
    return _limit_peak(y)


def change_speed(x: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Play ``x`` ``factor`` times faster (tempo and pitch together): length n / factor, float32."""
    return soxr.resample(np.asarray(x, dtype=np.float32), sample_rate, sample_rate / factor, quality="HQ").astype(np.float32)


def shift_pitch(x: np.ndarray, semitones: float, sample_rate: int) -> np.ndarray:
    """Raise the pitch by ``semitones`` keeping duration (librosa phase vocoder + soxr); float32 (n,)."""
    import librosa  # slow to import; only runs that shift pitch pay for it

    # 64 ms frames at 16 kHz: librosa's 2048 default is sized for music; speech transients smear less
    n_fft = max(16, int(2 ** round(math.log2(0.064 * sample_rate))))
    return librosa.effects.pitch_shift(np.asarray(x, dtype=np.float32), sr=sample_rate, n_steps=float(semitones),
                                       n_fft=n_fft, hop_length=n_fft // 4, res_type="soxr_hq").astype(np.float32)


def shift_time(x: np.ndarray, samples: int, mode: str) -> np.ndarray:
    """Delay ``x`` by ``samples`` (negative = advance): rolled round ('circular') or zero-filled ('pad')."""
    if mode == "circular":
        return np.roll(x, samples)
    samples = max(-len(x), min(len(x), samples))
    y = np.zeros_like(x)
    if samples >= 0:
        y[samples:] = x[: len(x) - samples]
    else:
        y[:samples] = x[-samples:]
    return y


def _draw_noise(n: int, rng: np.random.Generator, c: AugmentConfig, sample_rate: int,
                babble_pool: Sequence[np.ndarray]) -> np.ndarray:
    has_pool = any(len(clip) for clip in babble_pool)
    kinds = [k for k in c.noise_types if k != "babble" or has_pool]
    if not kinds:
        raise ConfigError(f"augment setting noise_types={c.noise_types!r} needs a non-empty babble_pool; add another kind")
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "babble":
        return _noise.babble(babble_pool, n, rng, sample_rate, c.babble_clips)
    if kind == "real":
        return _noise.real_noise(str(c.noise_dir), n, rng, sample_rate)
    return _noise.coloured_noise(kind, n, rng, sample_rate)


def _channel(y: np.ndarray, rng: np.random.Generator, c: AugmentConfig, sample_rate: int) -> np.ndarray:
    """Microphone response and telephone band (one filter pass), then a lower recording rate."""
    mic = _chance(rng, c.mic_p)
    tilt = _uniform(rng, c.mic_tilt_db_per_octave) if mic and c.mic_tilt_db_per_octave else 0.0
    highpass = _uniform(rng, c.mic_highpass_hz) if mic and c.mic_highpass_hz else None
    lowpass = _uniform(rng, c.mic_lowpass_hz) if mic and c.mic_lowpass_hz else None
    telephone = _chance(rng, c.telephone_p)
    if tilt or highpass or lowpass or telephone:
        y = _noise.channel_filter(y, sample_rate, tilt_db_per_octave=tilt, highpass_hz=highpass,
                                  lowpass_hz=lowpass, telephone=telephone)
    if _chance(rng, c.low_rate_p, c.low_rates_hz):
        y = _noise.recorded_at(y, sample_rate, c.low_rates_hz[int(rng.integers(len(c.low_rates_hz)))])
    return y


def _chance(rng: np.random.Generator, p: float, *settings: Any) -> bool:
    """True with probability ``p``; no draw at all when ``p`` is 0 or a setting is None/0 (kind off)."""
    if p <= 0.0 or any(s is None or (not isinstance(s, tuple) and s == 0) for s in settings):
        return False
    return bool(rng.random() < p)


def _uniform(rng: np.random.Generator, bounds: Tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _limit_peak(y: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(y)))
    return (y / peak).astype(np.float32) if peak > 1.0 else y


def spec_augment(windows: np.ndarray, *, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """SpecAugment on normalised MFCC windows (n, frames, coeffs): a new float32 array.

    Each window gets ``time_masks`` runs of 1..time_mask_frames whole frames and
    ``freq_masks`` runs of 1..freq_mask_coeffs coefficients set to ``mask_value``;
    masks may overlap. Apply after per-window normalisation, fresh each epoch.
    """
    out = np.array(windows, dtype=np.float32)
    if out.ndim != 3:
        raise ValueError(f"spec_augment needs windows of shape (n, frames, coeffs), got {out.shape}")
    n, frames, coeffs = out.shape
    time = _mask_runs(rng, n, frames, config.time_masks, config.time_mask_frames)
    freq = _mask_runs(rng, n, coeffs, config.freq_masks, config.freq_mask_coeffs)
    out[time] = config.mask_value  # (n, frames) picks whole frames
    out.transpose(0, 2, 1)[freq] = config.mask_value  # a view, so this writes whole coefficients of out
    return out


def _mask_runs(rng: np.random.Generator, n: int, length: int, count: int, widest: int) -> np.ndarray:
    """(n, length) bool: ``count`` random runs per row, widths 1..widest (capped at ``length``)."""
    widest = min(widest, length)
    if count == 0 or widest == 0:
        return np.zeros((n, length), dtype=bool)
    widths = rng.integers(1, widest, size=(n, count), endpoint=True)
    starts = (rng.random((n, count)) * (length - widths + 1)).astype(np.int64)
    index = np.arange(length)
    return ((index >= starts[..., None]) & (index < (starts + widths)[..., None])).any(axis=1)

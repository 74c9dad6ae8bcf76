"""All audio and feature settings in one frozen dataclass.

`FeatureParams` is the contract between training and the device: training writes
it into the model's manifest, and the runtime reads it back, checks it and
builds its front end from it. Nothing else in the code base holds a sample rate,
a window length or a number of coefficients.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ser_edge.errors import ConfigError

#: Bumped whenever the meaning of a field, or the maths behind it, changes.
FRONT_END_VERSION = 1

WINDOWS = ("hamming", "hann", "rect")
FILTERBANKS = ("continuous", "fft_bins")
NORMALISATIONS = ("window_cmvn", "window_mean", "none", "speaker_cmvn")
#: constants of the speaker (adaptive) normalisation; written only when they matter (see `to_dict`)
ADAPT_FIELDS = ("adapt_time_constant_s", "adapt_prior_s")
#: fields that act on classification windows, not on MFCC frames
WINDOW_FIELDS = ("window_ms", "window_hop_ms", "normalisation", *ADAPT_FIELDS)


def _doc(text: str, **kwargs: Any) -> Any:
    return field(metadata={"doc": text}, **kwargs)


@dataclass(frozen=True, kw_only=True)
class FeatureParams:
    """Audio and MFCC parameters, each with its unit.

    Frames: ``frame_ms`` of audio every ``hop_ms``; only whole frames are made
    (a signal shorter than one frame gives no frames). MFCC output is float32 of
    shape ``(frames, n_mfcc)``. Classification looks at ``window_ms`` of frames,
    every ``window_hop_ms``.
    """

    sample_rate: int = _doc("audio sample rate, Hz; input is resampled to it", default=16000)
    frame_ms: float = _doc("analysis frame length, ms", default=25.0)
    hop_ms: float = _doc("hop between frames, ms", default=10.0)
    n_fft: int = _doc("FFT size, samples (>= frame length; frames are zero-padded)", default=512)
    window: str = _doc("taper applied to each frame: hamming, hann or rect", default="hamming")
    preemphasis: float = _doc("pre-emphasis coefficient a in y[n] = x[n] - a*x[n-1]; 0 = off", default=0.97)
    n_mels: int = _doc("number of triangular mel filters", default=40)
    fmin_hz: float = _doc("lowest filterbank edge, Hz", default=20.0)
    fmax_hz: Optional[float] = _doc("highest filterbank edge, Hz; None = sample_rate/2", default=7600.0)
    filterbank: str = _doc(
        "filter shapes: 'continuous' (triangles in Hz, as librosa htk=True norm=None) or "
        "'fft_bins' (edges floored to FFT bins, as python_speech_features)",
        default="continuous",
    )
    n_mfcc: int = _doc("cepstral coefficients kept (c0 included), <= n_mels", default=30)
    lifter: int = _doc("sinusoidal liftering parameter L; 0 = off", default=22)
    log_floor: float = _doc("floor that mel energies are raised to before the natural log (power units)", default=1e-6)
    energy_c0: bool = _doc("replace c0 by the log of the frame's total power (python_speech_features' appendEnergy)", default=False)
    window_ms: float = _doc("classification window length, ms", default=1500.0)
    window_hop_ms: float = _doc("hop between classification windows, ms", default=500.0)
    normalisation: str = _doc(
        "per-window normalisation of the MFCC matrix before the model: 'window_cmvn' (zero mean, "
        "unit variance per coefficient over the window), 'window_mean' (mean only), 'none', or "
        "'speaker_cmvn' (mean and variance of the speaker's voiced frames, learnt as the device listens; "
        "see ser_edge.frontend.normalise)",
        default="window_cmvn",
    )
    adapt_time_constant_s: float = _doc(
        "speaker_cmvn: time constant of the exponential forgetting, seconds of speech", default=600.0)
    adapt_prior_s: float = _doc(
        "speaker_cmvn: weight of the population prior the statistics start from, seconds of speech", default=10.0)

    def __post_init__(self) -> None:
        _validate(self)

    # ----- derived sample and frame counts -------------------------------------------------
    @property
    def frame_length(self) -> int:
        """Frame length in samples (``frame_ms`` rounded half up)."""
        return _ms_to_samples(self.frame_ms, self.sample_rate)

    @property
    def hop_length(self) -> int:
        """Frame hop in samples."""
        return _ms_to_samples(self.hop_ms, self.sample_rate)

    @property
    def mel_fmax_hz(self) -> float:
        """Upper filterbank edge in Hz, with ``None`` resolved to Nyquist."""
        return float(self.fmax_hz) if self.fmax_hz is not None else self.sample_rate / 2.0

    @property
    def window_samples(self) -> int:
        """Classification window length in samples."""
        return _ms_to_samples(self.window_ms, self.sample_rate)

    @property
    def window_hop_samples(self) -> int:
        """Classification window hop in samples (a whole number of frame hops)."""
        return self.window_hop_frames * self.hop_length

    @property
    def window_frames(self) -> int:
        """Frames in one classification window: the model's input length."""
        return frames_in(self.window_samples, self.frame_length, self.hop_length)

    @property
    def window_hop_frames(self) -> int:
        """Frames between the starts of consecutive classification windows."""
        return max(1, _ms_to_samples(self.window_hop_ms, self.sample_rate) // self.hop_length)

    # ----- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field (plus the front-end version).

        The speaker-normalisation constants are left out unless the normalisation is
        ``speaker_cmvn`` or they differ from their defaults, so that parameters made before
        they existed keep their dict and their `stable_hash`."""
        data = dataclasses.asdict(self)
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name in ADAPT_FIELDS:
            if self.normalisation != "speaker_cmvn" and data[name] == defaults[name]:
                del data[name]
        data["front_end_version"] = FRONT_END_VERSION
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "parameters") -> "FeatureParams":
        """Build from a dict written by `to_dict`, refusing unknown keys or versions."""
        data = dict(data)
        version = data.pop("front_end_version", FRONT_END_VERSION)
        if version != FRONT_END_VERSION:
            raise ConfigError(
                f"{source}: front_end_version {version!r} is not supported "
                f"(this ser-edge understands {FRONT_END_VERSION})"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown feature parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
        try:
            return cls(**data)
        except TypeError as exc:  # a wrong type reached a comparison in _validate
            raise ConfigError(f"{source}: {exc}") from None

    def stable_hash(self) -> str:
        """Hex sha256 (16 chars) of the canonical JSON of `to_dict`, stable across runs."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def frame_hash(self) -> str:
        """Like `stable_hash`, over only the fields that shape MFCC frames (not windows
        or normalisation): the key for caches of per-clip frames."""
        data = {k: v for k, v in self.to_dict().items() if k not in WINDOW_FIELDS}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def replace(self, **changes: Any) -> "FeatureParams":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Field name to its one-line documentation (with unit)."""
        return {f.name: f.metadata["doc"] for f in dataclasses.fields(cls)}


def frames_in(n_samples: int, frame_length: int, hop_length: int) -> int:
    """Number of whole frames in ``n_samples`` samples (0 if shorter than a frame)."""
    if n_samples < frame_length:
        return 0
    return 1 + (n_samples - frame_length) // hop_length


def _ms_to_samples(ms: float, sample_rate: int) -> int:
    # round half up, as python_speech_features does, so 25 ms at 16 kHz is 400 samples
    return int(ms * sample_rate / 1000.0 + 0.5)


def _validate(p: FeatureParams) -> None:
    def bad(name: str, allowed: str) -> ConfigError:
        return ConfigError(f"feature parameter {name}={getattr(p, name)!r} is invalid; allowed: {allowed}")

    for name in ("sample_rate", "n_fft", "n_mels", "n_mfcc"):
        value = getattr(p, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise bad(name, "a positive integer")
    for name in ("frame_ms", "hop_ms", "window_ms", "window_hop_ms", "log_floor", *ADAPT_FIELDS):
        value = getattr(p, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise bad(name, "a positive number")
    if not 1 <= p.frame_length <= p.n_fft:
        raise bad("frame_ms", f"a frame of 1 to n_fft={p.n_fft} samples")
    if p.hop_length < 1:
        raise bad("hop_ms", "at least one sample")
    if p.window not in WINDOWS:
        raise bad("window", ", ".join(WINDOWS))
    if p.filterbank not in FILTERBANKS:
        raise bad("filterbank", ", ".join(FILTERBANKS))
    if p.normalisation not in NORMALISATIONS:
        raise bad("normalisation", ", ".join(NORMALISATIONS))
    if not isinstance(p.preemphasis, (int, float)) or not 0.0 <= p.preemphasis < 1.0:
        raise bad("preemphasis", "a number in [0, 1)")
    if p.n_mfcc > p.n_mels:
        raise bad("n_mfcc", f"at most n_mels={p.n_mels}")
    if isinstance(p.lifter, bool) or not isinstance(p.lifter, int) or p.lifter < 0:
        raise bad("lifter", "an integer >= 0")
    if not isinstance(p.energy_c0, bool):
        raise bad("energy_c0", "true or false")
    nyquist = p.sample_rate / 2.0
    if p.fmax_hz is not None and not 0 < p.fmax_hz <= nyquist:
        raise bad("fmax_hz", f"None or a frequency in (0, {nyquist:g}] Hz")
    if not 0 <= p.fmin_hz < p.mel_fmax_hz:
        raise bad("fmin_hz", f"a frequency in [0, {p.mel_fmax_hz:g}) Hz")
    if p.window_samples < p.frame_length:
        raise bad("window_ms", f"at least one frame ({p.frame_ms} ms)")

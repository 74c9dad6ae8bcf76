"""All audio and feature settings in one frozen dataclass.

`FeatureParams` is the contract between training and the device: training writes
it into the model's manifest, and the runtime reads it back, checks it and
builds its front end from it. Nothing else in the code base holds a sample rate,
a window length or a number of coefficients.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from ser_edge.config.versioned import Versioned, canonical_hash, require
from ser_edge.config.versioned import doc_field as _doc

#: Bumped whenever the meaning of a field, or the maths behind it, changes.
FRONT_END_VERSION = 1

WINDOWS = ("hamming", "hann", "rect")
FILTERBANKS = ("continuous", "fft_bins")
NORMALISATIONS = ("window_cmvn", "window_mean", "none", "speaker_cmvn")
#: constants of the speaker (adaptive) normalisation; written only when they matter (see `to_dict`)
ADAPT_FIELDS = ("adapt_time_constant_s", "adapt_prior_s")
#: settings of the prosody tracks (`ser_edge.frontend.prosody`); written only when they matter (see `to_dict`)
PROSODY_FIELDS = ("prosody", "f0_min_hz", "f0_max_hz", "voicing_threshold")
#: fields that act on classification windows, not on MFCC frames
WINDOW_FIELDS = ("window_ms", "window_hop_ms", "normalisation", *ADAPT_FIELDS)


@dataclass(frozen=True, kw_only=True)
class FeatureParams(Versioned):
    """Audio and MFCC parameters, each with its unit.

    Frames: ``frame_ms`` of audio every ``hop_ms``; only whole frames are made
    (a signal shorter than one frame gives no frames). MFCC output is float32 of
    shape ``(frames, n_mfcc)``. Classification looks at ``window_ms`` of frames,
    every ``window_hop_ms``. Dict form, checks and hash: `ser_edge.config.versioned`.
    """

    WHAT, VERSION_KEY, VERSION = "feature parameter", "front_end_version", FRONT_END_VERSION

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
    prosody: bool = _doc(
        "compute the prosody tracks beside the MFCC, one row per MFCC frame (log F0, voicing, log energy, "
        "spectral centroid, flatness, zero-crossing rate: see ser_edge.frontend.prosody)", default=False)
    f0_min_hz: float = _doc(
        "prosody: lowest F0 the tracker looks for, Hz; sets its analysis span (two periods: 33.75 ms at 60 Hz)",
        default=60.0)
    f0_max_hz: float = _doc("prosody: highest F0 the tracker looks for, Hz", default=800.0)
    voicing_threshold: float = _doc(
        "prosody: a frame is voiced when its periodicity (1 - the YIN dip, 0..1) is above this", default=0.8)

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

    # ----- serialisation (from_dict, stable_hash, replace: `Versioned`) ---------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field (plus the front-end version).

        The speaker-normalisation constants are left out unless the normalisation is
        ``speaker_cmvn`` or they differ from their defaults, and the prosody settings unless
        ``prosody`` is on or they differ from their defaults, so that parameters made before
        they existed keep their dict, their `stable_hash` and their `frame_hash`."""
        data = super().to_dict()
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for names, used in ((ADAPT_FIELDS, self.normalisation == "speaker_cmvn"), (PROSODY_FIELDS, self.prosody)):
            for name in names:
                if not used and data[name] == defaults[name]:
                    del data[name]
        return data

    def frame_hash(self) -> str:
        """Like `stable_hash`, over only the fields that shape MFCC frames (not windows
        or normalisation): the key for caches of per-clip frames."""
        return canonical_hash({k: v for k, v in self.to_dict().items() if k not in WINDOW_FIELDS})


def frames_in(n_samples: int, frame_length: int, hop_length: int) -> int:
    """Number of whole frames in ``n_samples`` samples (0 if shorter than a frame)."""
    if n_samples < frame_length:
        return 0
    return 1 + (n_samples - frame_length) // hop_length


def _ms_to_samples(ms: float, sample_rate: int) -> int:
    # round half up, as python_speech_features does, so 25 ms at 16 kHz is 400 samples
    return int(ms * sample_rate / 1000.0 + 0.5)


def _validate(p: FeatureParams) -> None:
    def check(name: str, ok: bool, allowed: str) -> None:
        require(p, FeatureParams.WHAT, name, ok, allowed)

    for name in ("sample_rate", "n_fft", "n_mels", "n_mfcc"):
        check(name, _is_int(getattr(p, name)) and getattr(p, name) > 0, "a positive integer")
    for name in ("frame_ms", "hop_ms", "window_ms", "window_hop_ms", "log_floor", *ADAPT_FIELDS):
        check(name, _is_number(getattr(p, name)) and getattr(p, name) > 0, "a positive number")
    check("frame_ms", 1 <= p.frame_length <= p.n_fft, f"a frame of 1 to n_fft={p.n_fft} samples")
    check("hop_ms", p.hop_length >= 1, "at least one sample")
    check("window", p.window in WINDOWS, ", ".join(WINDOWS))
    check("filterbank", p.filterbank in FILTERBANKS, ", ".join(FILTERBANKS))
    check("normalisation", p.normalisation in NORMALISATIONS, ", ".join(NORMALISATIONS))
    check("preemphasis", isinstance(p.preemphasis, (int, float)) and 0.0 <= p.preemphasis < 1.0, "a number in [0, 1)")
    check("n_mfcc", p.n_mfcc <= p.n_mels, f"at most n_mels={p.n_mels}")
    check("lifter", _is_int(p.lifter) and p.lifter >= 0, "an integer >= 0")
    check("energy_c0", isinstance(p.energy_c0, bool), "true or false")
    nyquist = p.sample_rate / 2.0
    check("fmax_hz", p.fmax_hz is None or 0 < p.fmax_hz <= nyquist, f"None or a frequency in (0, {nyquist:g}] Hz")
    check("fmin_hz", 0 <= p.fmin_hz < p.mel_fmax_hz, f"a frequency in [0, {p.mel_fmax_hz:g}) Hz")
    check("window_ms", p.window_samples >= p.frame_length, f"at least one frame ({p.frame_ms} ms)")
    _validate_prosody(p)


def _validate_prosody(p: FeatureParams) -> None:
    def check(name: str, ok: bool, allowed: str) -> None:
        require(p, FeatureParams.WHAT, name, ok, allowed)

    check("prosody", isinstance(p.prosody, bool), "true or false")
    top = p.sample_rate / 4.0  # the shortest lag searched is then >= 4 samples
    check("f0_max_hz", _is_number(p.f0_max_hz) and 0 < p.f0_max_hz <= top, f"a frequency in (0, {top:g}] Hz")
    check("f0_min_hz", _is_number(p.f0_min_hz) and 20.0 <= p.f0_min_hz < p.f0_max_hz / 2.0,
          f"a frequency in [20, f0_max_hz/2={p.f0_max_hz / 2.0:g}) Hz")
    check("voicing_threshold", _is_number(p.voicing_threshold) and 0.0 < p.voicing_threshold < 1.0,
          "a number in (0, 1)")


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)

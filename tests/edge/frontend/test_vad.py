"""VoiceGate on generated noise and on real speech from the corpora."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ser_edge.errors import AudioError, ConfigError
from ser_edge.frontend.vad import VoiceGate

SR = 16000
HOP = 160
HANG_HOPS = 30  # the default hangover, 300 ms


def run(x: np.ndarray, block: int = 1600, gate: VoiceGate | None = None) -> np.ndarray:
    gate = gate or VoiceGate()
    flags = [gate.push(x[i : i + block]) for i in range(0, len(x), block)]
    return np.concatenate(flags) if flags else np.zeros(0, bool)


def white(n: int, dbfs: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * 10 ** (dbfs / 20)).astype(np.float32)


def pink(n: int, dbfs: float, seed: int = 0) -> np.ndarray:
    """1/f power noise, RMS ``dbfs``, shaped in the frequency domain."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    freqs[0] = freqs[1]
    y = np.fft.irfft(spec / np.sqrt(freqs), n)
    return (y * 10 ** (dbfs / 20) / np.sqrt(np.mean(y**2))).astype(np.float32)


def hum(n: int, dbfs: float) -> np.ndarray:
    """50 Hz mains hum with a third harmonic, RMS ``dbfs``."""
    t = np.arange(n) / SR
    y = np.sin(2 * np.pi * 50 * t) + 0.3 * np.sin(2 * np.pi * 150 * t)
    return (y * 10 ** (dbfs / 20) / np.sqrt(np.mean(y**2))).astype(np.float32)


def load(path: Path) -> np.ndarray:
    sf = pytest.importorskip("soundfile")
    x, sr = sf.read(str(path), dtype="float32")
    assert sr == SR and x.ndim == 1
    return x


def sounding(x: np.ndarray) -> np.ndarray:
    """Reference speech hops, shape (len(x)//160,): RMS within 30 dB of the clip's loudest hop."""
    n = len(x) // HOP
    db = 10 * np.log10(np.mean(x[: n * HOP].reshape(n, HOP).astype(np.float64) ** 2, axis=1) + 1e-12)
    return db > db.max() - 30


def voiced(x: np.ndarray) -> np.ndarray:
    """Reference voiced hops, shape (len(x)//160,): sounding, with under 0.25 zero crossings per
    sample (voiced speech is dominated by its low formants; /s/ crosses zero far more often)."""
    n = len(x) // HOP
    crossings = np.mean(np.diff(np.signbit(x[: n * HOP].reshape(n, HOP)), axis=1), axis=1)
    return sounding(x) & (crossings < 0.25)


def mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``x`` plus ``noise`` scaled so active speech is ``snr_db`` over it; noise may run longer."""
    ref = np.repeat(sounding(x), HOP)
    speech_power = np.mean(x[: ref.size][ref] ** 2)
    noise = noise * np.sqrt(speech_power / 10 ** (snr_db / 10) / np.mean(noise**2))
    out = noise.astype(np.float32).copy()
    out[: len(x)] += x
    return out


def speech_clips(data_dir: Path) -> list[Path]:
    rav = data_dir / "ravdess" / "Actor_01"
    clips = sorted(rav.glob("03-01-05-*.flac"))[:3] + sorted(rav.glob("03-01-01-*.flac"))[:3]
    for folder in ("OAF_angry", "YAF_neutral", "YAF_happy"):
        clips += sorted((data_dir / "tess" / folder).glob("*.flac"))[:2]
    if len(clips) < 12:
        pytest.skip(f"expected speech clips not found under {data_dir}")
    return clips


# ----- no speech in silence and noise ----------------------------------------------------------
@pytest.mark.parametrize(
    "name, signal",
    [
        ("digital silence", np.zeros(5 * SR, np.float32)),
        ("white noise -60 dBFS", white(5 * SR, -60)),
        ("white noise -20 dBFS", white(5 * SR, -20)),
        ("pink noise -20 dBFS", pink(5 * SR, -20)),
        ("pink noise -35 dBFS", pink(5 * SR, -35)),
        ("50 Hz hum -20 dBFS", hum(5 * SR, -20)),
        ("50 Hz hum -6 dBFS", hum(5 * SR, -6)),
    ],
)
def test_steady_signals_from_the_first_sample_are_never_speech(name: str, signal: np.ndarray) -> None:
    flags = run(signal)
    assert flags.shape == (len(signal) // HOP,)
    assert flags.dtype == bool
    assert not flags.any(), f"{name}: {flags.sum()} hops taken as speech"


def test_a_step_into_loud_noise_is_speech_briefly_at_most() -> None:
    # quiet room, then a fan at -20 dBFS: the step itself is modulation, the steady part is not
    x = np.concatenate([white(3 * SR, -70, seed=1), pink(10 * SR, -20, seed=2)])
    flags = run(x)
    assert flags.sum() <= 70  # at most about modulation_ms + hangover_ms = 0.6 s
    assert not flags[300 + 100 :].any()


# ----- speech ----------------------------------------------------------------------------------
@pytest.mark.data
def test_real_speech_is_marked_over_most_of_its_voiced_part(data_dir: Path) -> None:
    fractions = []
    for path in speech_clips(data_dir):
        x = load(path)
        ref = voiced(x)
        flags = run(x)[: ref.size]
        fractions.append(flags[ref].mean())
        assert flags[ref].mean() >= 0.8, f"{path.name}: only {flags[ref].mean():.0%} of voiced hops"
        lead = int(np.flatnonzero(ref)[0]) - 20  # well before the first voiced hop
        assert lead <= 0 or flags[:lead].mean() <= 0.1, f"{path.name}: speech flagged before the speech"
    assert np.mean(fractions) >= 0.9


@pytest.mark.data
@pytest.mark.parametrize("noise", [white, pink])
def test_speech_at_10_db_snr_is_detected_and_released_after_the_hangover(data_dir: Path, noise) -> None:
    for i, path in enumerate(speech_clips(data_dir)[::2]):
        x = load(path)
        ref = voiced(x)
        # the noise starts 1 s before the speech and runs on 2 s after it
        y = mix_at_snr(np.concatenate([np.zeros(SR, np.float32), x]), noise(len(x) + 3 * SR, 0.0, seed=i), 10.0)
        flags = run(y)
        ref = np.concatenate([np.zeros(SR // HOP, bool), ref])
        assert flags[: ref.size][ref].mean() >= 0.8, f"{path.name} in {noise.__name__} noise"
        assert not flags[: SR // HOP].any(), f"{path.name}: noise before the speech taken as speech"
        last = SR // HOP + int(np.flatnonzero(sounding(x))[-1])  # the last sound, voiced or not
        assert not flags[last + HANG_HOPS + 5 :].any(), f"{path.name}: noise after the speech taken as speech"


@pytest.mark.data
def test_flags_do_not_depend_on_block_sizes(data_dir: Path) -> None:
    x = load(speech_clips(data_dir)[0])
    y = mix_at_snr(np.concatenate([x, x]), pink(2 * len(x) + SR, 0.0, seed=3), 10.0)
    expected = run(y, block=len(y))
    assert expected.any() and not expected.all()
    for block in (1, 7, 159, 160, 161, 1000, 4097):
        signal = y[:SR] if block == 1 else y  # one sample at a time is slow: 1 s is enough
        assert np.array_equal(run(signal, block=block), expected[: len(signal) // HOP]), f"block={block}"


def test_random_block_sizes_and_empty_pushes() -> None:
    rng = np.random.default_rng(4)
    y = np.concatenate([white(SR, -60), pink(SR, -20), white(SR, -40)])
    gate, flags, pos = VoiceGate(), [], 0
    while pos < len(y):
        size = int(rng.integers(0, 700))
        flags.append(gate.push(y[pos : pos + size]))
        pos += size
    assert np.array_equal(np.concatenate(flags), run(y, block=len(y)))
    assert gate.push(np.zeros(0, np.float32)).shape == (0,)


@pytest.mark.data
def test_reset_starts_a_new_stream(data_dir: Path) -> None:
    x = load(speech_clips(data_dir)[0])
    gate = VoiceGate()
    first = run(x[:12345], gate=gate)
    gate.reset()
    assert np.array_equal(run(x[:12345], gate=gate), first)
    assert gate.hops_seen == 12345 // HOP


# ----- arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sample_rate": 0}, "sample_rate"),
        ({"hop_length": 1.5}, "hop_length"),
        ({"frame_ms": 5.0}, "frame_ms"),
        ({"band_hz": (4000.0, 150.0)}, "band_hz"),
        ({"band_hz": (150.0, 9000.0)}, "band_hz"),
        ({"min_level_db": 3.0}, "min_level_db"),
        ({"margin_db": -1.0}, "margin_db"),
        ({"floor_percentile": 90.0}, "floor_percentile"),
        ({"hangover_ms": -5.0}, "hangover_ms"),
        ({"onset_ms": "30"}, "onset_ms"),
    ],
)
def test_bad_settings_raise_config_error_naming_them(kwargs: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        VoiceGate(**kwargs)


def test_bad_samples_raise_audio_error() -> None:
    gate = VoiceGate()
    with pytest.raises(AudioError, match="mono"):
        gate.push(np.zeros((100, 2), np.float32))
    with pytest.raises(AudioError, match="float"):
        gate.push(np.zeros(100, np.int16))
    assert gate.push(np.zeros((320, 1), np.float64)).shape == (2,)


def test_from_params_takes_rate_and_hop() -> None:
    from ser_edge.frontend.params import FeatureParams

    gate = VoiceGate.from_params(FeatureParams(sample_rate=8000, hop_ms=20.0, fmax_hz=None), hangover_ms=200.0)
    assert (gate.sample_rate, gate.hop_length) == (8000, 160)
    assert gate.push(np.zeros(800, np.float32)).shape == (5,)


def test_levels_in_chunks_are_the_levels_frame_by_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_levels` takes `CHUNK_HOPS` frames at a time (bounded temporaries): to the last bit the
    levels of one frame at a time, the first frames' start-of-stream scaling included."""
    from ser_edge.frontend import vad

    y = np.concatenate([white(SR // 2, -60), pink(SR, -20)])
    n = (len(y) // HOP) * HOP
    assert n // HOP > 3 * vad.CHUNK_HOPS
    chunked = VoiceGate()._levels(y[:n])
    monkeypatch.setattr(vad, "CHUNK_HOPS", 1)
    assert np.array_equal(chunked, VoiceGate()._levels(y[:n]))

"""Training-clip augmentation: each kind does what it says, only when enabled.

Levels, frequencies and band energies are measured on the output (SNR from the
added signal, frequencies from FFT peaks), not read back from the code. The SNR
test runs on real RAVDESS speech with babble from other actors.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import soundfile

from ser_edge.audio.read import load_audio
from ser_edge.errors import ConfigError
from ser_train.features.augment import AugmentConfig, augment_audio, spec_augment
from ser_train.features.noise import active_power, babble

SR = 16000


def sine(freq: float, seconds: float = 1.0, amp: float = 0.3) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def white(seconds: float = 2.0, amp: float = 0.05, seed: int = 0) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def run(x: np.ndarray, seed: int = 0, pool=(), **settings) -> np.ndarray:
    return augment_audio(x, rng=np.random.default_rng(seed), config=AugmentConfig(**settings), babble_pool=pool)


def peak_hz(y: np.ndarray) -> float:
    """Frequency of the strongest FFT bin, refined by a parabola through its neighbours."""
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / len(y)


def band_power(y: np.ndarray, low: float, high: float) -> float:
    """Energy of ``y`` between ``low`` and ``high`` Hz (periodogram sum)."""
    spectrum = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def db(ratio: float) -> float:
    return 10 * np.log10(ratio)


@pytest.fixture(scope="module")
def speech(data_dir) -> np.ndarray:
    return load_audio(data_dir / "ravdess" / "Actor_01" / "03-01-05-01-01-01-01.flac", SR)


@pytest.fixture(scope="module")
def pool(data_dir) -> list:
    names = ["Actor_02/03-01-01-01-01-01-02", "Actor_03/03-01-03-01-02-01-03",
             "Actor_04/03-01-04-01-01-02-04", "Actor_05/03-01-06-01-02-01-05"]
    return [load_audio(data_dir / "ravdess" / f"{name}.flac", SR) for name in names]


# --- off, determinism ---------------------------------------------------------

def test_off_returns_input_unchanged():
    x = np.clip(white(amp=0.3), -1.0, 1.0)
    y = augment_audio(x, rng=np.random.default_rng(0), config=AugmentConfig.off())
    assert y is not x and y.dtype == np.float32 and np.array_equal(y, x)
    assert AugmentConfig() == AugmentConfig.off()
    assert AugmentConfig.off().copies == 0


@pytest.mark.data
def test_default_is_deterministic_for_a_seed(speech, pool):
    config = AugmentConfig.default()

    def copies(first_seed):
        return [augment_audio(speech, rng=np.random.default_rng(seed), config=config, babble_pool=pool)
                for seed in range(first_seed, first_seed + 6)]

    first, again, other = copies(10), copies(10), copies(20)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, other))
    assert all(y.dtype == np.float32 and np.max(np.abs(y)) <= 1.0 for y in first)
    assert config.copies == 2


# --- additive noise -----------------------------------------------------------

@pytest.mark.data
@pytest.mark.parametrize("kind", ["white", "pink", "brown", "babble"])
@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
def test_noise_on_speech_is_at_the_requested_snr(speech, pool, kind, snr):
    y = run(speech, pool=pool, noise_p=1.0, noise_snr_db=(snr, snr), noise_types=(kind,))
    assert np.max(np.abs(y)) < 1.0  # not peak-limited, so y - x is exactly the added noise
    measured = db(active_power(speech, SR) / np.mean((y.astype(np.float64) - speech) ** 2))
    assert abs(measured - snr) < 0.5


@pytest.mark.data
def test_snr_is_drawn_from_the_range(speech):
    measured = [db(active_power(speech, SR) / np.mean((run(speech, seed, noise_p=1.0, noise_snr_db=(5.0, 30.0))
                                                         .astype(np.float64) - speech) ** 2)) for seed in range(8)]
    assert all(4.5 < m < 30.5 for m in measured) and np.ptp(measured) > 5


def test_active_power_ignores_silence_around_speech():
    tone = sine(300, 1.0, amp=0.2)
    padded = np.concatenate([np.zeros(SR, np.float32), tone, np.zeros(SR, np.float32)])
    assert active_power(padded, SR) == pytest.approx(0.02, rel=0.01)  # a²/2, not a third of it


@pytest.mark.parametrize("kind, octave_slope_db", [("white", 3.0), ("pink", 0.0), ("brown", -3.0)])
def test_noise_colours_have_their_spectral_slopes(kind, octave_slope_db):
    x = sine(1000, 4.0, amp=0.01)
    n = run(x, noise_p=1.0, noise_snr_db=(-10.0, -10.0), noise_types=(kind,)).astype(np.float64) - x
    # power per octave band grows 3 dB/octave for white, is flat for pink, falls 3 dB/octave for brown
    assert db(band_power(n, 2000, 4000) / band_power(n, 250, 500)) == pytest.approx(3 * octave_slope_db, abs=1.5)


@pytest.mark.parametrize("clips, talkers", [((3, 3), 3), ((6, 6), 6), ((4, 6), None)])
def test_babble_mixes_that_many_talkers_at_equal_level(clips, talkers):
    freqs = [300, 500, 700, 900, 1100, 1300, 1500]  # one "talker" per frequency
    pool = [sine(f, 0.7, amp=0.05 * (i + 1)) for i, f in enumerate(freqs)]
    mix = babble(pool, 2 * SR, np.random.default_rng(3), SR, clips)
    levels = np.array([band_power(mix, f - 20, f + 20) for f in freqs])
    present = levels > 1e-3 * levels.max()
    assert present.sum() == talkers if talkers else 4 <= present.sum() <= 6
    assert np.ptp(db(levels[present] / levels[present].max())) < 0.5  # equal level whatever the clip's level
    assert np.mean(mix**2) == pytest.approx(1.0)
    assert (babble(pool[:2], SR, np.random.default_rng(3), SR, (3, 6)) != 0).any()  # a small pool is used whole


def test_real_noise_comes_from_the_folder_at_the_snr(tmp_path):
    (tmp_path / "sub").mkdir()
    hum = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(8000) / 8000)  # 1 kHz at 8 kHz: resampled on load
    soundfile.write(tmp_path / "sub" / "hum.wav", hum, 8000)
    (tmp_path / "notes.txt").write_text("not audio")
    x = sine(300, 1.5)
    y = run(x, noise_p=1.0, noise_snr_db=(10.0, 10.0), noise_types=("real",), noise_dir=str(tmp_path))
    added = y.astype(np.float64) - x
    assert db(active_power(x, SR) / np.mean(added**2)) == pytest.approx(10.0, abs=0.5)
    assert peak_hz(added) == pytest.approx(1000, abs=2)


def test_noise_folder_problems_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="noise_dir=.*existing folder"):
        run(sine(300), noise_p=1.0, noise_types=("real",), noise_dir=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="noise_dir=.*no audio files"):
        run(sine(300), noise_p=1.0, noise_types=("real",), noise_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="babble_pool"):
        run(sine(300), noise_p=1.0, noise_types=("babble",))
    assert run(sine(300), noise_p=1.0, noise_types=("babble", "pink")).shape == (SR,)  # babble skipped, pink used


# --- gain, time, speed, pitch -------------------------------------------------

@pytest.mark.parametrize("gain", [6.0, -12.0])
def test_gain_is_exact(gain):
    x = sine(440, amp=0.1)
    np.testing.assert_allclose(run(x, gain_p=1.0, gain_db=(gain, gain)), x * 10 ** (gain / 20), rtol=1e-6, atol=1e-9)


def test_loud_output_is_scaled_down_not_clipped():
    x = sine(440, amp=0.5)
    y = run(x, gain_p=1.0, gain_db=(12.0, 12.0))
    assert np.max(np.abs(y)) == pytest.approx(1.0) and np.max(np.abs(y)) <= 1.0
    np.testing.assert_allclose(y, x / np.max(np.abs(x)), atol=1e-6)  # same shape, just quieter


@pytest.mark.parametrize("mode", ["circular", "pad"])
def test_time_shift_moves_samples_by_at_most_the_maximum(mode):
    x = np.linspace(0.1, 0.9, SR, dtype=np.float32)  # every sample distinct, none zero
    mid = len(x) // 2  # survives any shift of up to 0.1 s, so it tells the shift
    shifts = set()
    for seed in range(5):
        y = run(x, seed, shift_p=1.0, shift_max_s=0.1, shift_mode=mode)
        k = int(np.argmin(np.abs(y - x[mid]))) - mid
        expected = np.roll(x, k)
        if mode == "pad":  # what wrapped round in a roll is zeros instead
            expected[: max(k, 0)] = 0
            expected[len(x) + min(k, 0) :] = 0
        assert abs(k) <= 1600 and np.array_equal(y, expected)
        shifts.add(k)
    assert len(shifts) > 1


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_changes_length_and_frequency_by_the_factor(factor):
    x = sine(440, 2.0)
    y = run(x, speed_p=1.0, speed_range=(factor, factor))
    assert abs(len(y) - len(x) / factor) <= 2
    assert peak_hz(y) == pytest.approx(440 * factor, rel=0.002)


@pytest.mark.parametrize("semitones", [3.0, -2.0, 0.5])
def test_pitch_shift_moves_a_sine_by_the_semitones(semitones):
    x = sine(440, 1.0)
    y = run(x, pitch_p=1.0, pitch_semitones=(semitones, semitones))
    assert len(y) == len(x)
    assert 12 * np.log2(peak_hz(y) / peak_hz(x)) == pytest.approx(semitones, abs=0.05)


# --- channel ------------------------------------------------------------------

def test_telephone_band_removes_energy_outside_300_to_3400_hz():
    x = white()
    y = run(x, telephone_p=1.0)
    total = band_power(y, 0, SR / 2)
    assert (band_power(y, 0, 300) + band_power(y, 3400, SR / 2)) / total < 0.01
    assert band_power(y, 0, 250) / total < 1e-6 and band_power(y, 3500, SR / 2) / total < 1e-6
    assert db(band_power(y, 400, 3200) / band_power(x, 400, 3200)) == pytest.approx(0.0, abs=0.1)


def test_low_rate_recording_loses_everything_above_its_nyquist():
    x = white()
    y = run(x, low_rate_p=1.0, low_rates_hz=(8000,))
    assert len(y) == len(x)
    assert db(band_power(y, 4100, SR / 2) / band_power(x, 4100, SR / 2)) < -40
    assert db(band_power(y, 300, 3500) / band_power(x, 300, 3500)) == pytest.approx(0.0, abs=0.2)


def test_microphone_tilt_and_high_pass():
    x = white(4.0)
    tilted = run(x, mic_p=1.0, mic_tilt_db_per_octave=(3.0, 3.0), mic_highpass_hz=None, mic_lowpass_hz=None)
    change = db(band_power(tilted, 2000, 4000) / band_power(tilted, 250, 500)) - db(band_power(x, 2000, 4000) / band_power(x, 250, 500))
    assert change == pytest.approx(9.0, abs=0.5)  # 3 octaves apart, 3 dB each
    cut = run(x, mic_p=1.0, mic_tilt_db_per_octave=None, mic_highpass_hz=(200.0, 200.0), mic_lowpass_hz=None)
    assert db(band_power(cut, 20, 60) / band_power(x, 20, 60)) < -20
    assert db(band_power(cut, 1000, 3000) / band_power(x, 1000, 3000)) == pytest.approx(0.0, abs=0.1)


# --- each kind only when enabled ----------------------------------------------

KINDS = {  # kind: (settings that switch it on, a setting that switches it off again)
    "noise": ({"noise_p": 1.0}, {"noise_snr_db": None}),
    "gain": ({"gain_p": 1.0, "gain_db": (3.0, 3.0)}, {"gain_db": None}),
    "shift": ({"shift_p": 1.0, "shift_max_s": 0.05}, {"shift_max_s": 0.0}),
    "speed": ({"speed_p": 1.0}, {"speed_range": None}),
    "pitch": ({"pitch_p": 1.0}, {"pitch_semitones": None}),
    "mic": ({"mic_p": 1.0}, {"mic_tilt_db_per_octave": None, "mic_highpass_hz": None, "mic_lowpass_hz": None}),
    "telephone": ({"telephone_p": 1.0}, {"telephone_p": 0.0}),
    "low_rate": ({"low_rate_p": 1.0}, {"low_rates_hz": (16000,)}),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_changes_audio_only_when_enabled(kind):
    on, off = KINDS[kind]
    x = white(1.0)
    y = run(x, **on)
    assert y.shape != x.shape or not np.allclose(y, x, atol=1e-4)
    assert np.array_equal(run(x, **{**on, **off}), x)
    probability = next(name for name in on if name.endswith("_p"))
    assert np.array_equal(run(x, **{**on, probability: 0.0}), x)


def test_probability_is_respected():
    x = white(0.2)
    changed = sum(not np.array_equal(run(x, seed, gain_p=0.3, gain_db=(3.0, 3.0)), x) for seed in range(400))
    assert 80 < changed < 160  # 120 expected


# --- SpecAugment ----------------------------------------------------------------

def windows(n: int = 400) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 148, 30)).astype(np.float32)


def masked_runs(flags: np.ndarray) -> list:
    """Lengths of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))


def masks(w: np.ndarray, **settings) -> np.ndarray:
    config = AugmentConfig(mask_value=-99.0, **settings)
    out = spec_augment(w, rng=np.random.default_rng(1), config=config)
    assert out is not w and out.dtype == np.float32
    return out == -99.0


def test_spec_augment_leaves_the_input_alone_and_off_changes_nothing():
    w = windows(20)
    before = w.copy()
    out = spec_augment(w, rng=np.random.default_rng(0), config=AugmentConfig.default())
    assert np.array_equal(w, before) and not np.array_equal(out, w)
    assert np.array_equal(spec_augment(w, rng=np.random.default_rng(0), config=AugmentConfig.off()), w)
    again = spec_augment(w, rng=np.random.default_rng(0), config=AugmentConfig.default())
    assert np.array_equal(out, again)


def test_time_masks_are_whole_frames_of_the_allowed_widths():
    hit = masks(windows(), time_masks=1, time_mask_frames=10)
    frames = hit.any(axis=2)
    assert np.array_equal(hit, np.broadcast_to(frames[:, :, None], hit.shape))  # every coefficient of a frame
    widths = [masked_runs(f) for f in frames]
    assert all(len(r) == 1 and 1 <= r[0] <= 10 for r in widths)
    assert {r[0] for r in widths} == set(range(1, 11))
    several = masks(windows(), time_masks=3, time_mask_frames=10).any(axis=2)
    assert all(1 <= len(masked_runs(f)) <= 3 and 1 <= f.sum() <= 30 for f in several)


def test_coefficient_masks_are_whole_columns_of_the_allowed_widths():
    hit = masks(windows(), freq_masks=2, freq_mask_coeffs=4)
    columns = hit.any(axis=1)
    assert np.array_equal(hit, np.broadcast_to(columns[:, None, :], hit.shape))
    assert all(1 <= len(masked_runs(c)) <= 2 and 1 <= c.sum() <= 8 for c in columns)
    assert max(c.sum() for c in columns) == 8
    one = masks(windows(), freq_masks=1, freq_mask_coeffs=50)  # wider than the window: capped
    assert one.any(axis=1).sum(axis=1).max() == 30


# --- configuration ------------------------------------------------------------

@pytest.mark.parametrize("settings, allowed", [
    ({"noise_p": 1.5}, r"a probability in \[0, 1\]"),
    ({"noise_snr_db": (30.0, 5.0)}, r"None or \[low, high\] dB with -10 <= low <= high <= 60"),
    ({"speed_range": (0.2, 1.0)}, r"0.5 <= low <= high <= 2"),
    ({"pitch_semitones": (1.0,)}, "semitones"),
    ({"copies": -1}, r"an integer in \[0, 100\]"),
    ({"copies": True}, "an integer"),
    ({"time_mask_frames": 2.5}, "an integer"),
    ({"noise_types": ("white", "purple")}, "white, pink, brown, babble, real"),
    ({"noise_types": ()}, "non-empty"),
    ({"noise_types": ("real",)}, "noise_dir"),
    ({"babble_clips": (0, 3)}, "1 <= low <= high <= 20"),
    ({"shift_max_s": -0.1}, r"seconds in \[0, 5\]"),
    ({"shift_mode": "wrap"}, "circular, pad"),
    ({"low_rates_hz": (100,)}, r"\[2000, 48000\] Hz"),
    ({"mask_value": float("nan")}, "finite"),
])
def test_bad_settings_name_the_field_and_the_allowed_range(settings, allowed):
    name = next(iter(settings))
    with pytest.raises(ConfigError, match=rf"augment setting {name}=.* is invalid; allowed: .*{allowed}"):
        AugmentConfig(**settings)


def test_from_dict_refuses_unknown_keys_versions_and_types():
    with pytest.raises(ConfigError, match="unknown augment setting.*noise_snr.*allowed: .*noise_snr_db"):
        AugmentConfig.from_dict({"noise_snr": [5, 30]})
    with pytest.raises(ConfigError, match="augment_version 99"):
        AugmentConfig.from_dict({"augment_version": 99})
    with pytest.raises(ConfigError, match="noise_p='high'"):
        AugmentConfig.from_dict({"noise_p": "high"})
    with pytest.raises(TypeError):
        AugmentConfig(2)  # keyword-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        AugmentConfig.default().copies = 3


@pytest.mark.parametrize("config", [
    AugmentConfig.default(), AugmentConfig.off(),
    AugmentConfig(copies=4, noise_p=0.5, noise_types=["pink", "real"], noise_dir="/noise", low_rate_p=1.0,
                  low_rates_hz=[8000], pitch_semitones=[-1, 1], time_masks=3, mask_value=-1.5),
])
def test_to_dict_from_dict_round_trip_through_json(config):
    data = json.loads(json.dumps(config.to_dict()))
    back = AugmentConfig.from_dict(data)
    assert back == config and back.stable_hash() == config.stable_hash()
    assert data["augment_version"] == 1 and isinstance(back.noise_types, tuple)


def test_every_field_is_documented():
    docs = {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(AugmentConfig)}
    assert all(len(text) > 15 for text in docs.values())

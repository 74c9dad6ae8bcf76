"""The prosody tracks: F0 on tones of known pitch, silence and noise, the other columns on
signals whose answer is known, streaming bit for bit, golden rows, and librosa's yin and pyin
as references on real speech."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import ENERGY_FLOOR, PROSODY_COLUMNS, ProsodyExtractor, yin_plan

from ..golden.make_golden_prosody import golden_prosody_signal

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RATE = 16000
PARAMS = FeatureParams(prosody=True)
COL = {name: i for i, name in enumerate(PROSODY_COLUMNS)}


def _tone(f0: float, seconds: float = 1.0, harmonics: int = 8, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    parts = [(amplitude / k) * np.sin(2 * np.pi * k * f0 * t + k) for k in range(1, harmonics + 1) if k * f0 < 7000]
    return np.sum(parts, axis=0).astype(np.float32)


def _f0(rows: np.ndarray) -> np.ndarray:
    return np.exp(rows[rows[:, COL["voiced"]] > 0, COL["log_f0"]])


def test_plan_and_one_row_per_mfcc_frame():
    plan = yin_plan(PARAMS)
    assert (plan.decimate, plan.tau_min, plan.tau_max, plan.span, plan.lookback) == (2, 10, 135, 540, 140)
    assert RATE / plan.decimate / (plan.tau_max - 1) < PARAMS.f0_min_hz <= PARAMS.f0_max_hz <= RATE / 2 / plan.tau_min
    extractor, mfcc = ProsodyExtractor(PARAMS), MfccExtractor(PARAMS)
    for n in (0, 399, 400, 401, 559, 560, 12345):
        x = _tone(200.0, n / RATE)
        rows = extractor(x)
        assert rows.dtype == np.float32 and rows.shape == (mfcc(x).shape[0], len(PROSODY_COLUMNS))


@pytest.mark.parametrize("f0", [70.0, 85.0, 110.0, 150.0, 220.0, 300.0, 440.0, 520.0, 650.0])
@pytest.mark.parametrize("harmonics", [1, 8])
def test_tones_of_known_pitch_within_one_percent(f0, harmonics):
    rows = ProsodyExtractor(PARAMS)(_tone(f0, harmonics=harmonics))
    voiced = rows[:, COL["voiced"]] > 0
    assert voiced[1:].all()  # the first row's span is mostly the zeros before the start
    assert np.abs(_f0(rows[1:]) / f0 - 1).max() < 0.01
    assert rows[1:, COL["voicing"]].min() > 0.9


def test_a_glide_is_followed():
    t = np.arange(2 * RATE) / RATE
    f0 = 90.0 * 4.0 ** (t / 2.0)  # two octaves up in 2 s: 90 -> 360 Hz
    x = sum((0.3 / k) * np.sin(2 * np.pi * k * np.cumsum(f0) / RATE) for k in range(1, 6)).astype(np.float32)
    rows = ProsodyExtractor(PARAMS)(x)
    plan = yin_plan(PARAMS)
    centres = (np.arange(rows.shape[0]) * PARAMS.hop_length - plan.lookback + plan.span // 2).clip(0, x.size - 1)
    expected = f0[centres]
    voiced = rows[:, COL["voiced"]] > 0
    assert voiced[2:].all()
    assert np.abs(np.exp(rows[2:, COL["log_f0"]]) / expected[2:] - 1).max() < 0.02


def test_silence_has_defined_values():
    rows = ProsodyExtractor(PARAMS)(np.zeros(RATE, np.float32))
    expected = {"log_f0": 0.0, "voicing": 0.0, "voiced": 0.0, "log_energy": np.float32(np.log(ENERGY_FLOOR)),
                "spectral_centroid_hz": 0.0, "spectral_flatness": 1.0, "zero_crossing_rate": 0.0}
    assert np.array_equal(rows, np.tile([expected[c] for c in PROSODY_COLUMNS], (rows.shape[0], 1)).astype(np.float32))
    assert np.isfinite(rows).all()


@pytest.mark.parametrize("colour", ["white", "brown"])
def test_noise_is_unvoiced(colour):
    rng = np.random.default_rng(22)
    noise = rng.standard_normal(3 * RATE)
    if colour == "brown":  # integrated, its slow drift removed: most power far below 500 Hz
        noise = np.cumsum(noise)
        noise -= np.convolve(noise, np.ones(400) / 400, mode="same")
    x = (0.1 * noise / noise.std()).astype(np.float32)
    rows = ProsodyExtractor(PARAMS)(x)
    assert (rows[:, COL["voiced"]] > 0).mean() <= 0.02
    assert (rows[rows[:, COL["voiced"]] == 0, COL["log_f0"]] == 0).all()
    if colour == "white":
        assert abs(np.median(rows[:, COL["zero_crossing_rate"]]) - 0.5) < 0.05
        assert np.median(rows[:, COL["spectral_flatness"]]) > 0.2


def test_energy_centroid_flatness_and_zero_crossings_of_a_sine():
    t = np.arange(RATE) / RATE
    x = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    rows = ProsodyExtractor(PARAMS)(x)[2:]
    np.testing.assert_allclose(rows[:, COL["log_energy"]], np.log(0.125), atol=0.01)  # mean square A^2/2
    np.testing.assert_allclose(rows[:, COL["spectral_centroid_hz"]], 1000.0, rtol=0.03)
    assert rows[:, COL["spectral_flatness"]].max() < 0.01
    np.testing.assert_allclose(rows[:, COL["zero_crossing_rate"]], 2 * 1000.0 / RATE, atol=1.5 / 399)


def test_a_sample_rate_without_decimation():
    params = FeatureParams(sample_rate=8000, n_fft=256, fmax_hz=None, prosody=True)
    assert yin_plan(params).decimate == 1
    rows = ProsodyExtractor(params)(_tone(200.0)[::2])
    assert np.abs(_f0(rows[1:]) / 200.0 - 1).max() < 0.01


def _blocks(x: np.ndarray, size) -> list[np.ndarray]:
    rng, out, i = np.random.default_rng(5), [], 0
    while i < x.size:
        n = int(rng.integers(0, 2500)) if size == "random" else size
        out.append(x[i: i + n])
        i += n
    return out


@pytest.mark.parametrize("size", [1, 7, 160, 161, 1000, "random", 10**6])
def test_streaming_is_bit_identical_for_any_block_size(size):
    x = golden_prosody_signal()
    whole = ProsodyExtractor(PARAMS)(x)
    stream, mfcc = ProsodyExtractor(PARAMS).stream(), MfccExtractor(PARAMS).stream()
    parts = []
    for block in _blocks(x, size):
        parts.append(stream.push(block))
        assert parts[-1].shape[0] == mfcc.push(block).shape[0]  # each row comes with its MFCC frame
    assert np.array_equal(np.concatenate(parts), whole) and stream.frames_out == whole.shape[0]


@pytest.mark.parametrize("size", [7, 1000, "random"])
def test_power_spectra_from_the_mfcc_give_the_same_rows(size):
    x = golden_prosody_signal()
    whole = ProsodyExtractor(PARAMS)(x)
    stream, mfcc = ProsodyExtractor(PARAMS).stream(), MfccExtractor(PARAMS).stream()
    rows = [stream.push(block, mfcc.push_with_power(block)[1]) for block in _blocks(x, size)]
    assert np.array_equal(np.concatenate(rows), whole)
    stream.reset()
    assert np.array_equal(stream.push(x), whole)
    with pytest.raises(ValueError, match="power spectra of shape"):
        stream.push(np.zeros(1600, np.float32), np.zeros((3, 257)))


def test_golden_rows():
    recorded = json.loads((GOLDEN / "prosody_default.json").read_text())
    assert recorded["params"] == PARAMS.to_dict() and recorded["columns"] == list(PROSODY_COLUMNS)
    expected = np.load(GOLDEN / "prosody_default.npy")
    actual = ProsodyExtractor(PARAMS)(golden_prosody_signal())
    assert actual.shape == expected.shape == tuple(recorded["shape"])
    assert np.array_equal(actual[:, COL["voiced"]], expected[:, COL["voiced"]])
    # 1e-4 absolute (the MFCC golden's tolerance): far above FFT rounding across CPUs, far below any change
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-4)


def test_tones_agree_with_librosa_yin():
    librosa = pytest.importorskip("librosa", reason="librosa (the [train] extra) is the reference")
    plan = yin_plan(PARAMS)
    for f0 in (75.0, 180.0, 400.0, 640.0):
        x = _tone(f0, 0.5)
        ours = ProsodyExtractor(PARAMS)(x)
        ref = librosa.yin(np.concatenate([np.zeros(plan.lookback, np.float32), x]), fmin=60.0, fmax=800.0, sr=RATE,
                          frame_length=plan.span, hop_length=PARAMS.hop_length, center=False, trough_threshold=0.2)
        assert ref.shape[0] == ours.shape[0]
        cents = 1200 * np.abs(np.log2(np.exp(ours[1:, COL["log_f0"]]) / ref[1:]))
        assert cents.max() < 10, f0


#: RAVDESS (English, a woman and a man), nEMO (Polish), TESS (an older woman), EMOVO (Italian)
SPEECH = ("ravdess/Actor_17/03-01-05-02-01-01-17.flac", "ravdess/Actor_18/03-01-03-01-02-01-18.flac",
          "nemo/samples/EB0_anger_1.flac", "tess/OAF_Fear/OAF_back_fear.flac")


def _speech(data_dir: Path) -> list[np.ndarray]:
    found = [data_dir / rel for rel in SPEECH if (data_dir / rel).is_file()]
    if len(found) < 2:
        pytest.skip(f"fewer than two of {', '.join(SPEECH)} under {data_dir}")
    return [load_audio(path, RATE) for path in found]


def _cents(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1200 * np.abs(np.log2(a / b))


@pytest.mark.data
def test_speech_agrees_with_librosa_yin_on_voiced_frames(data_dir):
    librosa = pytest.importorskip("librosa", reason="librosa (the [train] extra) is the reference")
    plan, cents = yin_plan(PARAMS), []
    for x in _speech(data_dir):
        rows = ProsodyExtractor(PARAMS)(x)
        ref = librosa.yin(np.concatenate([np.zeros(plan.lookback, np.float32), x]), fmin=60.0, fmax=800.0, sr=RATE,
                          frame_length=plan.span, hop_length=PARAMS.hop_length, center=False, trough_threshold=0.2)
        voiced = rows[:, COL["voiced"]] > 0
        assert 0.1 < voiced.mean() < 0.9
        cents.append(_cents(np.exp(rows[voiced, COL["log_f0"]]), ref[voiced]))
    cents = np.concatenate(cents)
    assert np.median(cents) < 20 and (cents < 50).mean() > 0.85, (np.median(cents), (cents < 50).mean())
    print(f"yin: {cents.size} frames, median {np.median(cents):.1f} cents, {(cents < 50).mean():.3f} within 50")


@pytest.mark.data
@pytest.mark.slow
def test_speech_agrees_with_librosa_pyin_where_both_hear_voice(data_dir):
    librosa = pytest.importorskip("librosa", reason="librosa (the [train] extra) is the reference")
    cents, agree = [], []
    for x in _speech(data_dir):
        rows = ProsodyExtractor(PARAMS)(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyin's own warnings about unvoiced frames
            f0, flags, _ = librosa.pyin(x, fmin=60.0, fmax=800.0, sr=RATE, frame_length=1024,
                                        hop_length=PARAMS.hop_length, center=True)
        # our row i is centred 70 samples before 160 (i + 1), where pyin's frame i + 1 is centred
        n = min(rows.shape[0], f0.shape[0] - 1)
        ours, theirs, their_flags = rows[:n], f0[1: n + 1], flags[1: n + 1]
        voiced = ours[:, COL["voiced"]] > 0
        agree.append((voiced == their_flags).mean())
        both = voiced & their_flags
        cents.append(_cents(np.exp(ours[both, COL["log_f0"]]), theirs[both]))
    cents = np.concatenate(cents)
    assert np.median(cents) < 30 and (cents < 50).mean() > 0.75, (np.median(cents), (cents < 50).mean())
    assert np.mean(agree) > 0.6
    print(f"pyin: {cents.size} frames, median {np.median(cents):.1f} cents, {(cents < 50).mean():.3f} within 50, "
          f"voicing agreement {np.mean(agree):.3f}")

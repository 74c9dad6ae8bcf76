"""The MFCC front end against its references, and streaming against whole-signal."""

from __future__ import annotations

import numpy as np
import pytest

from ser_edge.frontend.mfcc import MfccExtractor, dct_matrix, frame_signal, preemphasis
from ser_edge.frontend.params import FeatureParams

# python_speech_features.mfcc defaults, spelt in our parameters. psf floors zero
# energies at machine epsilon, so our log_floor is the same epsilon.
PSF_PARAMS = FeatureParams(
    window="rect", filterbank="fft_bins", n_mels=26, n_mfcc=13, fmin_hz=0.0, fmax_hz=None,
    preemphasis=0.97, lifter=22, energy_c0=True, log_floor=float(np.finfo(float).eps),
)
SPEECH = [
    "ravdess/Actor_01/03-01-05-02-01-01-01.flac",  # angry, male
    "ravdess/Actor_12/03-01-01-01-02-02-12.flac",  # neutral, female
    "tess/YAF_sad/YAF_back_sad.flac",
]


def _speech(data_dir, rel: str) -> np.ndarray:
    sf = pytest.importorskip("soundfile")
    x, sr = sf.read(str(data_dir / rel), dtype="float64")
    assert sr == 16000
    return x


@pytest.mark.parametrize("rel", SPEECH)
def test_matches_python_speech_features(data_dir, rel):
    psf = pytest.importorskip("python_speech_features")
    x = _speech(data_dir, rel)
    ours = MfccExtractor(PSF_PARAMS)(x)
    ref = psf.mfcc(x, 16000)
    # psf zero-pads a last partial frame; we make whole frames only
    assert ours.shape == (ref.shape[0] - 1, 13) or ours.shape == ref.shape
    # Tolerance: our output is float32 and cepstra reach |c| ~ 70, so float32
    # rounding alone is ~4e-6; 1e-3 leaves room for summation order, nothing more.
    np.testing.assert_allclose(ours, ref[: ours.shape[0]], rtol=0, atol=1e-3)


@pytest.mark.parametrize("rel", SPEECH[:2])
def test_mel_power_matches_librosa(data_dir, rel):
    librosa = pytest.importorskip("librosa")
    x = _speech(data_dir, rel)
    params = FeatureParams(window="hann", filterbank="continuous", preemphasis=0.0, n_mels=40, fmin_hz=20.0, fmax_hz=7600.0)
    extractor = MfccExtractor(params)
    ours = extractor.mel_power(extractor.power_spectrum(frame_signal(x, params.frame_length, params.hop_length)))
    # librosa centres a win_length window inside n_fft; shifting the signal by the
    # offset aligns its frames with ours (zero-padding position does not change |X|).
    offset = (params.n_fft - params.frame_length) // 2
    ref = librosa.feature.melspectrogram(
        y=np.concatenate([np.zeros(offset), x]), sr=16000, n_fft=params.n_fft, hop_length=params.hop_length,
        win_length=params.frame_length, window="hann", center=False, power=2.0, n_mels=40,
        fmin=20.0, fmax=7600.0, htk=True, norm=None,
    ).T / params.n_fft  # we scale power by 1/n_fft, as psf does
    n = min(len(ours), len(ref))
    assert n >= len(ours) - 1
    # float64 throughout: agreement to 1e-6 of the largest energy
    np.testing.assert_allclose(ours[:n], ref[:n], rtol=0, atol=1e-6 * ref.max())


def test_dct_matrix_is_orthonormal_dct_ii():
    d = dct_matrix(8, 8)
    np.testing.assert_allclose(d.T @ d, np.eye(8), atol=1e-12)
    x = np.arange(8.0)
    # DCT-II of a constant has only c0, equal to sqrt(N) * value under 'ortho'
    np.testing.assert_allclose(np.ones(8) @ d, [np.sqrt(8)] + [0] * 7, atol=1e-12)
    assert (x @ d)[1] < 0  # increasing ramp: negative first cosine coefficient


def _sweep(seconds: float = 1.3) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000.0
    return (0.3 * np.sin(2 * np.pi * (200 * t + 1500 * t**2)) + 0.05 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)


@pytest.mark.parametrize("block", [1, 7, 159, 160, 161, 999, 4096, 100000])
def test_streaming_equals_whole_signal_exactly(block):
    x = _sweep()
    extractor = MfccExtractor(FeatureParams())
    whole = extractor(x)
    stream = extractor.stream()
    parts = [stream.push(x[i : i + block]) for i in range(0, len(x), block)]
    streamed = np.concatenate(parts)
    assert streamed.dtype == np.float32 and streamed.shape == whole.shape
    assert np.array_equal(streamed, whole)
    assert stream.frames_out == whole.shape[0]


@pytest.mark.parametrize("params", [FeatureParams(), FeatureParams(energy_c0=True)])
@pytest.mark.parametrize("block", [1, 7, 160, 1000])
def test_push_with_power_gives_the_same_frames_and_their_power_spectra(params, block):
    x = _sweep()
    extractor = MfccExtractor(params)
    stream = extractor.stream()
    parts = [stream.push_with_power(x[i : i + block]) for i in range(0, len(x), block)]
    assert all(m.shape[0] == pw.shape[0] for m, pw in parts)
    assert np.array_equal(np.concatenate([m for m, _ in parts]), extractor(x))
    emphasised = preemphasis(x, params.preemphasis)
    frames = frame_signal(emphasised, params.frame_length, params.hop_length)
    assert np.array_equal(np.concatenate([pw for _, pw in parts]), extractor.power_spectrum(frames))


def test_streaming_with_empty_blocks_and_reset():
    x = _sweep(0.5)
    extractor = MfccExtractor(FeatureParams())
    stream = extractor.stream()
    assert stream.push(np.zeros(0, np.float32)).shape == (0, 30)
    first = np.concatenate([stream.push(x[:3000]), stream.push(x[3000:])])
    stream.reset()
    again = stream.push(x)
    assert np.array_equal(first, again)


def test_shapes_and_short_signals():
    p = FeatureParams()
    extractor = MfccExtractor(p)
    assert extractor(np.zeros(p.frame_length - 1, np.float32)).shape == (0, p.n_mfcc)
    assert extractor(np.zeros(p.frame_length, np.float32)).shape == (1, p.n_mfcc)
    out = extractor(np.zeros(16000, np.float32))
    assert out.shape == (1 + (16000 - 400) // 160, 30) and out.dtype == np.float32
    assert np.all(np.isfinite(out))  # digital silence meets the log floor, not -inf


def test_preemphasis_carries_the_previous_sample():
    x = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(preemphasis(x, 0.5), [1.0, 1.5, 3.0])
    np.testing.assert_allclose(preemphasis(x, 0.5, previous=2.0), [0.0, 1.5, 3.0])


def test_matrices_are_built_once_per_parameter_set():
    a, b = MfccExtractor(FeatureParams()), MfccExtractor(FeatureParams())
    assert a._m is b._m
    assert MfccExtractor(FeatureParams(n_mels=32))._m is not a._m


def test_frames_in_chunks_are_the_frames_one_by_one():
    """`from_frames` works `CHUNK_FRAMES` rows at a time (bounded temporaries): each frame is what
    it is alone, to the last bit, for a block of any number of frames."""
    from ser_edge.frontend.mfcc import CHUNK_FRAMES

    p = FeatureParams()
    extractor = MfccExtractor(p)
    x = np.random.default_rng(3).normal(0, 0.1, p.hop_length * (3 * CHUNK_FRAMES + 7) + p.frame_length)
    frames = frame_signal(preemphasis(x, p.preemphasis), p.frame_length, p.hop_length)
    assert frames.shape[0] > 3 * CHUNK_FRAMES
    alone = np.concatenate([extractor.from_frames(frames[i: i + 1]) for i in range(frames.shape[0])])
    assert np.array_equal(extractor.from_frames(frames), alone)

"""Clip decisions streamed block by block equal the whole-clip reference (`clip_windows`),
on real clips, a long recording, silence and short clips; files are streamed as they are read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import iter_audio, load_audio
from ser_edge.errors import AudioError
from ser_edge.frontend.vad import VoiceGate
from ser_edge.frontend.windows import clip_windows
from ser_edge.listen.filescore import FileScorer
from ser_edge.listen.recognizer import Recognizer

from ...wavgen import write_wav

RATE = 16000


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    # a window-normalised bundle, so that each window's reference needs no speaker statistics
    # (the adaptive path: tests/edge/listen/test_adaptation.py); real int8 interpreter
    from tests.edge.golden.make_shipped_scores import OLD_BUNDLE

    return Recognizer(OLD_BUNDLE)


def reference(recognizer: Recognizer, x: np.ndarray) -> tuple[np.ndarray, int, float]:
    """The whole-clip path: all frames, all flags, `clip_windows`, mean of the window scores."""
    speech = VoiceGate.from_params(recognizer.params).push(x)
    windows, _ = clip_windows(recognizer.extractor(x), speech, recognizer.params)
    scores = recognizer.classifier.scores_many(windows)
    return scores.mean(axis=0), len(scores), float(speech.mean())


def streamed(recognizer: Recognizer, x: np.ndarray, block: int):
    scorer = FileScorer(recognizer.params, recognizer.classifier.scores_many)
    for i in range(0, x.size, block):
        scorer.push(x[i: i + block])
    return scorer.finish()


def clips(data_dir: Path) -> list[Path]:
    return [data_dir / "ravdess/Actor_17/03-01-05-02-01-01-17.flac", data_dir / "ravdess/Actor_20/03-01-04-01-02-02-20.flac",
            data_dir / "tess/OAF_angry/OAF_back_angry.flac", data_dir / "quirks/ravdess_03-01-02-01-01-02-01.wav"]


@pytest.mark.parametrize("block", [1000, 7777, 16000, 10**7])
def test_streamed_decision_equals_the_whole_clip_reference_on_real_clips(recognizer, data_dir, block):
    for path in clips(data_dir):
        x = load_audio(path, RATE)
        mean, n, voiced = reference(recognizer, x)
        got = streamed(recognizer, x, block)
        assert got.windows == n and got.samples == x.size and got.voiced == pytest.approx(voiced, abs=1e-12)
        np.testing.assert_allclose(got.mean, mean, atol=1e-6, err_msg=str(path))


def test_a_long_recording_with_pauses_keeps_only_voiced_windows(recognizer, data_dir):
    parts = []
    for path in sorted((data_dir / "ravdess/Actor_18").glob("*.flac"))[:20]:
        parts += [load_audio(path, RATE), np.zeros(RATE * 3, np.float32)]  # 3 s pauses
    x = np.concatenate(parts)
    mean, n, _ = reference(recognizer, x)
    got = streamed(recognizer, x, 4000)
    all_windows = (x.size // 160 - recognizer.params.window_frames) // recognizer.params.window_hop_frames
    assert 20 <= got.windows == n < all_windows  # pauses dropped
    np.testing.assert_allclose(got.mean, mean, atol=1e-6)


def test_silence_falls_back_to_the_single_most_voiced_window(recognizer):
    x = np.random.default_rng(0).normal(0, 1e-4, RATE * 5).astype(np.float32)
    mean, n, _ = reference(recognizer, x)
    got = streamed(recognizer, x, 3000)
    assert got.windows == n == 1
    np.testing.assert_allclose(got.mean, mean, atol=1e-6)


def test_a_clip_shorter_than_one_window_is_repeated_to_fill_it(recognizer, data_dir):
    x = load_audio(clips(data_dir)[0], RATE)[: RATE // 2]  # 0.5 s
    mean, n, _ = reference(recognizer, x)
    got = streamed(recognizer, x, 1234)
    assert got.windows == n == 1
    np.testing.assert_allclose(got.mean, mean, atol=1e-6)


def test_classify_array_and_file_agree_and_name_a_clip_too_short(recognizer, data_dir, tmp_path):
    path = clips(data_dir)[1]
    x = load_audio(path, RATE)
    assert recognizer.classify_file(path).to_dict() == recognizer.classify_array(x, RATE, name="x").to_dict()
    with pytest.raises(AudioError, match=r"tiny\.wav: 6 ms of audio is too short \(at least 25 ms\)"):
        recognizer.classify_file(write_wav(tmp_path / "tiny.wav", np.zeros(100, np.float32)))


@pytest.mark.parametrize("name", ["quirks/ravdess_03-01-02-01-01-02-01.wav", "ravdess/Actor_19/03-01-03-02-01-01-19.flac",
                                  "quirks/tess_YAF_germ_angry.wav"])
def test_iter_audio_streams_exactly_what_load_audio_reads(data_dir, name):
    path = data_dir / name
    whole = load_audio(path, RATE)
    blocks = list(iter_audio(path, RATE, block_s=0.3))
    assert len(blocks) > 3 and all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_iter_audio_resamples_in_blocks_like_the_one_shot_form(tmp_path):
    t = np.arange(44100 * 3) / 44100
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 1000 * t)], axis=1).astype(np.float32)
    path = write_wav(tmp_path / "tone.wav", stereo, 44100)
    np.testing.assert_array_equal(np.concatenate(list(iter_audio(path, RATE, block_s=0.25))), load_audio(path, RATE))


def test_a_files_utterance_mean_counts_overlapping_hops_once():
    from ser_edge.listen.filescore import FileScores
    from ser_edge.listen.recognizer import utterance_mean
    from ser_edge.listen.utterances import Decision

    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    # a 15 s utterance (hops 0-1500) decided every 10 s: rolling [0, 1000), final [500, 1500) over its last
    # 10 s; then a short one [2000, 2100). New hops: 1000, 500, 100.
    decisions = (Decision(0, 1000, a, 9, False), Decision(500, 1500, b, 9, True), Decision(2000, 2100, b, 1, True))
    mean = utterance_mean(FileScores(None, 19, 1.0, 2100 * 160, decisions))
    np.testing.assert_allclose(mean, [1000 / 1600, 600 / 1600])

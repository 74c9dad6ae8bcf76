"""`ser-edge enrol --record`, all but the microphone: the take from a source of real speech (EMOVO
speaker f3) or of too little speech, the countdown and live line, the saved private WAV, and the
enrolment made from it."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.errors import AudioError, ConfigError
from ser_edge.listen.recognizer import Recognizer
from ser_edge.service.enrolcmd import enrol_recorded
from ser_edge.service.enrolrecord import CLIPS_FOLDER, Take, record
from ser_edge.service.enrolstore import FILE_NAME, EnrolStore
from ser_edge.sources import ArraySource

RATE = 16000


def sentence(data_dir: Path) -> np.ndarray:
    return load_audio(data_dir / "emovo" / "f3" / "tri-f3-l1.flac")  # 3 to 5 s of speech


def run(recognizer, tmp_path: Path, audio: np.ndarray, seconds: float = 30.0):
    out, said = io.StringIO(), []
    store = EnrolStore(tmp_path / "state" / FILE_NAME)
    result = enrol_recorded(recognizer, store, "sad", ArraySource(audio, RATE), seconds, out, said.append,
                            sleep=lambda s: None)
    return result, out.getvalue(), said, store


def test_a_take_of_speech_is_saved_private_and_enrolled_from_its_file(data_dir, tmp_path):
    recognizer = Recognizer()
    x = sentence(data_dir)
    (summary, problems), shown, said, store = run(recognizer, tmp_path, x)
    assert problems == [] and summary["classes"]["sad"]["clips"] == 1, said
    assert "recording in 3" in shown and "recording in 1" in shown and "level [" in shown and "speech" in shown
    folder = store.path.with_name(CLIPS_FOLDER)
    (wav,) = folder.glob("sad-*.wav")
    assert stat.S_IMODE(wav.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    np.testing.assert_allclose(load_audio(wav), x, atol=1.0 / 32767)  # the take, as 16-bit PCM
    saved = json.loads(store.path.read_text())["clips"][0]
    assert saved["source"] == str(wav.resolve()) and len(saved["source_sha256"]) == 64  # enrolled again after a model change
    assert abs(saved["seconds"] - x.size / RATE) < 0.01


def test_too_little_speech_saves_nothing_and_says_why(data_dir, tmp_path):
    x = sentence(data_dir)
    short = np.concatenate([x[: RATE], np.zeros(3 * RATE, np.float32)])  # about a second of speech
    with pytest.raises(AudioError, match=r"s of speech in .* \(at least 2 s of speech\); nothing was saved"):
        run(Recognizer(), tmp_path, short)
    assert not (tmp_path / "state").exists()


def test_an_unknown_label_fails_before_recording(tmp_path):
    store = EnrolStore(tmp_path / FILE_NAME)
    source = ArraySource(np.zeros(RATE, np.float32), RATE)
    with pytest.raises(ConfigError, match="'joy' is not one of"):
        enrol_recorded(Recognizer(), store, "joy", source, 5.0, io.StringIO(), lambda s: None, sleep=lambda s: None)


def test_the_take_stops_at_its_length_and_counts_only_speech(data_dir):
    params = Recognizer().params
    x = np.concatenate([np.zeros(2 * RATE, np.float32), sentence(data_dir)])
    take = record(ArraySource(x, RATE), params, 4.0, io.StringIO(), sleep=lambda s: None)
    assert 4.0 <= take.seconds < 4.2 and take.samples.size == int(round(take.seconds * RATE))
    quiet = Take(params)
    quiet.push(np.zeros(3 * RATE, np.float32))
    assert quiet.voiced_s == 0 and 0 < take.voiced_s < 2.1  # the silence counts for nothing

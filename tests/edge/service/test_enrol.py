"""`ser-edge enrol` and `Recognizer.enrol` on real speech (EMOVO speaker f3, whose long sentences
hold 3 to 5 s of speech): what is stored and where, every bad input refused with nothing stored,
the listing and the reset, the store's file rules, a bundle change, and the head at work."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.errors import AudioError, ConfigError
from ser_edge.listen.recognizer import Recognizer
from ser_edge.service.enrolstore import FILE_NAME, EnrolStore

#: EMOVO's emotion prefixes, in the model's words
EMOVO = {"neutral": "neu", "happy": "gio", "sad": "tri", "angry": "rab", "fearful": "pau", "disgust": "dis",
         "surprised": "sor"}


def clip(data_dir: Path, label: str, n: int = 1) -> Path:
    return data_dir / "emovo" / "f3" / f"{EMOVO[label]}-f3-l{n}.flac"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ser_edge", *args], capture_output=True, text=True, timeout=300)


def enrol(state: Path, *args: str) -> subprocess.CompletedProcess:
    return _cli("enrol", *args, "--state", str(state))


def test_enrol_stores_private_vectors_beside_the_statistics_and_lists_them(data_dir, tmp_path):
    state = tmp_path / "state" / "adaptation.json"
    done = enrol(state, "happy", str(clip(data_dir, "happy", 1)), str(clip(data_dir, "happy", 2)), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["classes"]["happy"]["clips"] == 2 and summary["classes"]["happy"]["speech_s"] > 4
    assert not summary["active"] and "acts from" in summary["needs"]  # one label: the head waits
    path = state.with_name(FILE_NAME)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert saved["bundle_sha256"] == Recognizer().bundle.sha256 and len(saved["clips"]) == 2
    assert all(len(c["source_sha256"]) == 64 and np.isfinite(c["vector"]).all() for c in saved["clips"])
    enrol(state, "sad", str(clip(data_dir, "sad")), str(clip(data_dir, "sad", 2)))
    listed = enrol(state, "--list")
    assert listed.returncode == 0 and "happy" in listed.stdout and "sad" in listed.stdout
    assert "personal head: off" in listed.stdout  # 4 clips of 2 labels: it needs 3 labels
    enrol(state, "angry", str(clip(data_dir, "angry")))
    assert "personal head: on" in enrol(state, "--list").stdout
    shown = _cli("adapt", "show", "--state", str(state), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["enrolment"]["classes"]["angry"]["clips"] == 1
    one = enrol(state, "--reset", "happy", "--json")
    assert one.returncode == 0 and set(json.loads(one.stdout)["classes"]) == {"sad", "angry"}
    every = enrol(state, "--reset", "--json")
    assert json.loads(every.stdout)["clips"] == 0 and json.loads(path.read_text())["clips"] == []


def _silence(path: Path, seconds: float = 4.0) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(int(16000 * seconds), np.int16).tobytes())
    return path


@pytest.mark.parametrize("case", ["unknown label", "no speech", "too short", "unreadable", "fifo", "huge", "missing"])
def test_a_bad_label_or_file_stores_nothing_and_says_why(case, data_dir, tmp_path):
    state = tmp_path / "adaptation.json"
    good = str(clip(data_dir, "sad"))
    bad = {"no speech": lambda: str(_silence(tmp_path / "quiet.wav")),
           "too short": lambda: str(data_dir / "ravdess/Actor_01/03-01-03-01-01-01-01.flac"),  # 1.7 s of speech
           "unreadable": lambda: _write(tmp_path / "notes.wav", b"not audio at all"),
           "fifo": lambda: _fifo(tmp_path / "pipe.wav"),
           "huge": lambda: _sparse(tmp_path / "huge.wav", 65 << 20),
           "missing": lambda: str(tmp_path / "nowhere.wav"),
           "unknown label": lambda: good}[case]()
    label = "bored" if case == "unknown label" else "sad"
    proc = enrol(state, label, good, bad)
    assert proc.returncode in (65, 78) and "Traceback" not in proc.stderr
    expected = {"unknown label": "'bored' is not one of this model's; allowed: neutral", "no speech": "no speech found",
                "too short": "too short (at least 2 s of speech)", "unreadable": "notes.wav",
                "fifo": "is a FIFO; allowed: a regular audio file", "huge": "too large for one clip",
                "missing": "nowhere.wav: cannot read it"}[case]
    assert expected in proc.stderr
    assert not state.with_name(FILE_NAME).exists()  # nothing stored, not even the good clip


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


def _sparse(path: Path, size: int) -> str:
    with open(path, "wb") as f:
        f.truncate(size)
    return str(path)


def test_recognizer_enrol_moves_decisions_toward_the_users_own_clips(data_dir):
    recognizer = Recognizer()
    with pytest.raises(ConfigError, match="'bored' is not one of this model's"):
        recognizer.enrol("bored", np.zeros(16000, np.float32))
    with pytest.raises(AudioError, match="no speech found"):
        recognizer.enrol("sad", np.zeros(4 * 16000, np.float32))
    assert recognizer.enrolment.clips == []
    labels = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    before = {label: recognizer.classify_file(clip(data_dir, label, 3)).label for label in labels}
    for label in labels:
        for n in (1, 2):
            recognizer.enrol(label, load_audio(clip(data_dir, label, n)), 16000, name=f"{label}{n}")
    assert recognizer.enrolment.active and len(recognizer.enrolment.clips) == 14
    after = {label: recognizer.classify_file(clip(data_dir, label, 3)).label for label in labels}
    right_before = sum(before[k] == k for k in labels)
    right_after = sum(after[k] == k for k in labels)
    assert right_after > right_before, (before, after)  # clips the head never saw, of the same speaker


def test_a_bundle_change_enrols_the_saved_files_again_or_names_those_gone(data_dir, tmp_path):
    state = tmp_path / "adaptation.json"
    kept = tmp_path / "kept.flac"
    gone = tmp_path / "gone.flac"
    kept.write_bytes(clip(data_dir, "sad").read_bytes())
    gone.write_bytes(clip(data_dir, "happy").read_bytes())
    assert enrol(state, "sad", str(kept)).returncode == 0 and enrol(state, "happy", str(gone)).returncode == 0
    path = state.with_name(FILE_NAME)
    data = json.loads(path.read_text())
    old_vectors = {c["label"]: c["vector"] for c in data["clips"]}
    data["bundle_sha256"] = "0" * 64  # as if written under another model
    for c in data["clips"]:
        c["vector"] = [0.0] * len(c["vector"])
    path.write_text(json.dumps(data))
    gone.unlink()
    recognizer = Recognizer()
    enrolment, note = EnrolStore(path).load(recognizer.labels, recognizer.bundle.sha256,
                                            lambda label, p: _clip_of(recognizer, label, p))
    assert [c.label for c in enrolment.clips] == ["sad"] and "gone.flac" in note and "enrol them again" in note
    np.testing.assert_allclose(enrolment.clips[0].vector, old_vectors["sad"], rtol=1e-9)  # computed again
    assert json.loads(path.read_text())["bundle_sha256"] == recognizer.bundle.sha256  # and saved


def _clip_of(recognizer, label, path):
    from ser_edge.service.enrolcmd import clip_of_file

    return clip_of_file(recognizer, label, path)


def test_the_store_refuses_a_fifo_and_sets_a_corrupt_file_aside(tmp_path):
    recognizer = Recognizer()
    os.mkfifo(tmp_path / FILE_NAME)
    with pytest.raises(ConfigError, match="is a FIFO"):
        EnrolStore(tmp_path / FILE_NAME).load(recognizer.labels, recognizer.bundle.sha256)
    (tmp_path / FILE_NAME).unlink()
    (tmp_path / FILE_NAME).write_text('{"format": "ser-edge-enrolment", "version": 1, "bundle_sha256": "x", '
                                      '"clips": [{"label": "sad", "vector": [1e999]}]}')
    enrolment, note = EnrolStore(tmp_path / FILE_NAME).load(recognizer.labels, recognizer.bundle.sha256)
    assert enrolment.clips == [] and "set aside" in note
    assert not (tmp_path / FILE_NAME).exists() and list(tmp_path.glob(f"{FILE_NAME}.corrupt-*"))


def test_adapt_learn_and_its_old_name(data_dir, tmp_path):
    state = tmp_path / "adaptation.json"
    learnt = _cli("adapt", "learn", str(clip(data_dir, "sad")), "--state", str(state), "--json")
    assert learnt.returncode == 0 and json.loads(learnt.stdout)["speech_s"] > 2
    old = _cli("adapt", "enrol", str(clip(data_dir, "sad")), "--state", str(state), "--json")
    assert old.returncode == 0 and "ser-edge adapt learn" in old.stderr and "ser-edge enrol LABEL" in old.stderr


def test_api_enrol_leans_api_classify_of_the_same_model(data_dir):
    from ser_edge import api

    try:
        labels = ("neutral", "happy", "sad", "angry")
        for label in labels:
            for n in (1, 2):
                api.enrol(label, clip(data_dir, label, n))
        x = (load_audio(clip(data_dir, "sad", 3)) * 32767).astype(np.int16)  # an int16 array is taken too
        with pytest.raises(AudioError, match="no speech found"):
            api.enrol("sad", np.zeros(48000 * 3, np.int16), sample_rate=48000)
        scores = api.classify(x, sample_rate=16000).scores
        assert sum(scores[k] for k in labels) > 0.5  # the enrolled labels gained
        assert len(api._loaded(None).enrolment.clips) == 8
    finally:
        api._loaded(None).enrolment.reset()  # the cached recognizer is shared with other tests


def test_a_listener_does_not_use_or_rewrite_an_enrolment_of_another_model(data_dir, tmp_path):
    from ser_edge.listen.enrolment import Enrolment

    recognizer = Recognizer()
    other = Enrolment(recognizer.labels, "f" * 64)
    other.add(recognizer.enrol_clip("sad", load_audio(clip(data_dir, "sad")), "sad.flac"))
    store = EnrolStore(tmp_path / FILE_NAME)
    store.save(other)
    before = store.path.read_bytes()
    enrolment, note = store.load_for_listener(recognizer.labels, recognizer.bundle.sha256)
    assert enrolment is None and "another model (ffffffffffff)" in note and "enrol --list" in note
    assert store.path.read_bytes() == before
    assert store.load_for_listener(recognizer.labels, "f" * 64)[0].clips[0].label == "sad"


def test_classify_uses_the_stored_enrolment_unless_told_not_to(data_dir, tmp_path):
    state = tmp_path / "state" / "adaptation.json"
    for label in ("neutral", "happy", "sad"):
        assert enrol(state, label, str(clip(data_dir, label, 1)), str(clip(data_dir, label, 2))).returncode == 0
    target = str(clip(data_dir, "sad", 3))
    used = _cli("classify", "--json", "--state", str(state), target)
    plain = _cli("classify", "--json", "--state", str(state), "--no-enrolment", target)
    assert used.returncode == plain.returncode == 0, used.stderr + plain.stderr
    leaned, alone = json.loads(used.stdout)["scores"], json.loads(plain.stdout)["scores"]
    assert leaned["sad"] > alone["sad"]  # the user's own sad clips pull a third one toward sad
    assert alone == json.loads(_cli("classify", "--json", "--state", str(tmp_path / "none.json"), target).stdout)["scores"]

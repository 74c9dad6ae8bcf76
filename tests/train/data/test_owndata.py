"""Own data: a CSV path,label[,speaker] and a folder of label-named folders, through one alias table.

Indexing never opens audio, so most tests use empty files; the CLI test writes real WAVs.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_train.data.corpora import index_folders
from ser_train.data.labels import ALIASES, EMOTIONS, emotion_of_word
from ser_train.data.owndata import corpus_name
from ser_train.fit.balance import window_weights
from tests.wavgen import write_wav


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


# --- the alias table -------------------------------------------------------

@pytest.mark.parametrize("word, emotion", [
    ("anger", "angry"), ("Angry", "angry"), ("ANG", "angry"), ("rabbia", "angry"), ("kızgın", "angry"), ("KIZGIN", "angry"),
    ("Wut", "angry"), ("joy", "happy"), ("Happiness", "happy"), ("gioia", "happy"), ("mutlu", "happy"),
    ("fear", "fearful"), ("afraid", "fearful"), ("paura", "fearful"), ("sadness", "sad"), ("tristezza", "sad"),
    ("hüzünlü", "sad"), ("calm", "calm"), ("sakin", "calm"), ("boredom", "boredom"), ("bored", "boredom"),
    ("pleasant surprise", "surprised"), ("Pleasant_Surprise", "surprised"), ("pleasant-surprised", "surprised"),
    ("  pleasant   surprise ", "surprised"), ("ps", "surprised"), ("sorpresa", "surprised"), ("disgusto", "disgust"),
    ("neutral", "neutral"), ("neutro", "neutral"), ("NEU", "neutral"),
])
def test_alias_table_is_case_insensitive_and_knows_the_corpora_words(word, emotion):
    assert emotion_of_word(word) == emotion


@pytest.mark.parametrize("word", ["", "a", "F", "W", "grumpy", "happy sad", "angryy"])
def test_unknown_and_ambiguous_one_letter_words_are_not_guessed(word):
    assert emotion_of_word(word) is None


def test_every_alias_names_a_canonical_emotion_and_every_emotion_names_itself():
    assert set(ALIASES.values()) == set(EMOTIONS)
    assert all(emotion_of_word(e) == e for e in EMOTIONS)


# --- CSV --------------------------------------------------------------------

CSV = """path,label,speaker
clips/day1/a.wav,Anger,
clips/b.wav,joy,anna
clips/c.wav,sadness
clips/missing.wav,angry,anna
clips/notes.txt,angry,anna
clips/b.wav,happy,anna
,angry,anna
clips/c.wav,grumpy,anna
clips/d.wav,,anna
clips/e.wav,boredom,bob
"""


def test_csv_rows_are_read_and_bad_rows_listed_with_line_and_reason(tmp_path):
    touch(tmp_path, "clips/day1/a.wav", "clips/b.wav", "clips/c.wav", "clips/notes.txt", "clips/d.wav", "clips/e.wav")
    (tmp_path / "calls.csv").write_text(CSV)
    index = index_folders(tmp_path / "calls.csv")
    got = {c.path.relative_to(tmp_path).as_posix(): (c.corpus, c.speaker, c.emotion, c.speaker_known) for c in index.clips}
    assert got == {
        "clips/day1/a.wav": ("calls", "calls:[clips/day1]", "angry", False),
        "clips/b.wav": ("calls", "calls:anna", "happy", True),
        "clips/c.wav": ("calls", "calls:[clips]", "sad", False),
        "clips/e.wav": ("calls", "calls:bob", "boredom", True),  # outside 7class: counted as left out, not a problem
    }
    reasons = [p.reason for p in index.problems]
    assert reasons[0] == "calls.csv line 5: file not found"
    assert reasons[1].startswith("calls.csv line 6: not an audio file (allowed: ")
    assert reasons[2:5] == ["calls.csv line 7: listed again (first on line 3)", "calls.csv line 8: empty path",
                            reasons[4]]
    assert reasons[4].startswith("calls.csv line 9: unknown label 'grumpy'")
    assert reasons[5] == "calls.csv line 10: empty label"
    assert len(reasons) == 6


def test_csv_header_may_be_in_any_order_and_case_without_speaker(tmp_path):
    touch(tmp_path, "x.flac")
    (tmp_path / "list.csv").write_text("Label,Path,notes\nFear,x.flac,whatever\n")
    index = index_folders(tmp_path / "list.csv")
    assert [(c.speaker, c.emotion) for c in index.clips] == [("list:[.]", "fearful")] and not index.problems


def test_csv_absolute_paths_and_a_corpus_name_collision(tmp_path):
    touch(tmp_path, "a/x.wav")
    (tmp_path / "ravdess.csv").write_text(f"path,label\n{tmp_path / 'a' / 'x.wav'},calm\n")
    index = index_folders(tmp_path / "ravdess.csv")
    assert [(c.corpus, c.emotion) for c in index.clips] == [("own-ravdess", "calm")]
    assert corpus_name(Path("My Calls.csv")) == "my-calls"


def test_csv_without_path_or_label_column_is_one_clear_error(tmp_path):
    (tmp_path / "bad.csv").write_text("file,emotion\nx.wav,angry\n")
    with pytest.raises(ConfigError, match="bad.csv: the header must name the columns path,label.*missing path, label"):
        index_folders(tmp_path / "bad.csv")
    with pytest.raises(ConfigError, match="is not a folder or a .csv file"):
        touch(tmp_path, "x.txt")
        index_folders(tmp_path / "x.txt")


# --- a folder of label-named folders -------------------------------------------

def test_label_folders_label_their_files_and_corpus_names_still_win(tmp_path):
    touch(tmp_path, "mine/Angry/x.wav", "mine/pleasant_surprise/s2/y.wav", "mine/Boredom/z.wav", "mine/top.wav",
          "mine/joy/1234_sk_algi.wav", "mine/joy/notes.txt")
    index = index_folders(tmp_path / "mine")
    got = {c.path.relative_to(tmp_path / "mine").as_posix(): (c.speaker, c.emotion, c.speaker_known) for c in index.clips}
    assert got == {"Angry/x.wav": ("mine:[.]", "angry", False), "pleasant_surprise/s2/y.wav": ("mine:[s2]", "surprised", False),
                   "Boredom/z.wav": ("mine:[.]", "boredom", False)}
    reasons = sorted((p.path.name, p.reason) for p in index.problems)
    # a corpus name must agree with its label folder: reported, never relabelled either way
    assert reasons[0] == ("1234_sk_algi.wav", "turev name says calm but folder 'joy' says happy")
    assert reasons[1] == ("top.wav", f"not inside a label-named folder of {tmp_path / 'mine'}")
    assert [p.name for p in index.ignored] == ["notes.txt"]


def test_turev_own_layout_is_read_by_its_names(tmp_path):
    touch(tmp_path, "turev/Angry/1157_kz_acik.flac", "turev/Calm/1234_sk_algi.flac", "turev/Calm/1358_kz_beste.flac")
    index = index_folders(tmp_path / "turev")
    assert [(c.corpus, c.speaker, c.emotion) for c in index.clips] == [("turev", "turev:1157", "angry"),
                                                                        ("turev", "turev:1234", "calm")]
    assert "name says angry (kz) but folder 'Calm' says calm" in index.problems[0].reason


def test_a_folder_with_any_non_label_subfolder_is_a_corpus_folder(tmp_path):
    touch(tmp_path, "d/angry/x.wav", "d/Actor_01/03-01-01-01-01-01-01.wav")
    index = index_folders(tmp_path / "d")
    assert [c.corpus for c in index.clips] == ["ravdess"]
    assert "matches no known corpus" in index.problems[0].reason


def test_balancing_counts_each_speakerless_file_as_one_speaker(tmp_path):
    from ser_train.data.labels import get_label_set
    from ser_train.features.windows import WindowSet

    touch(tmp_path, "m/angry/a.wav", "m/angry/b.wav", "m/angry/c.wav")
    (tmp_path / "k.csv").write_text("path,label,speaker\nm/angry/a.wav,angry,s1\nm/angry/b.wav,angry,s1\nm/angry/c.wav,angry,\n")
    clips = list(index_folders(tmp_path / "k.csv").clips)
    assert [c.balance_key for c in clips][:2] == ["k:s1", "k:s1"]
    # one window each: s1's two clips share one speaker's weight, the speaker-less clip has its own
    windows = WindowSet(np.zeros((3, 1, 1), np.float32), np.array([3, 3, 3]), np.array([0, 1, 2]))
    data = type("Data", (), {"clips": clips})()
    w = window_weights(windows, data, len(get_label_set().labels), "class+speaker")
    assert np.allclose(w, [0.75, 0.75, 1.5])


# --- as a user runs it ----------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_data_lists_bad_rows_and_unreadable_files_and_says_who_has_no_speaker(tmp_path):
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    (tmp_path / "clips").mkdir()
    write_wav(tmp_path / "clips" / "a.wav", tone)
    write_wav(tmp_path / "clips" / "b.wav", tone)
    (tmp_path / "clips" / "broken.wav").write_bytes(b"RIFF....WAVEnothing")
    (tmp_path / "mine.csv").write_text("path,label\nclips/a.wav,anger\nclips/b.wav,Joy\nclips/broken.wav,fear\n"
                                       "clips/gone.wav,sad\nclips/a.wav,meh\n")
    proc = _cli("data", str(tmp_path / "mine.csv"), "--check-audio")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "3 clips, 2 problem files" in out
    assert "mine.csv line 5: file not found" in out and "mine.csv line 6: unknown label 'meh'" in out
    assert "unreadable files (1)" in out and "broken.wav" in out
    assert "3 clips have no speaker" in out
    assert Counter(line.split()[0] for line in out.splitlines() if line.startswith("mine:")) == Counter({"mine:[clips]": 1})


def test_data_escapes_control_characters_in_paths_and_speakers(tmp_path):
    """Issue 24 item 16: names from files and CSV columns cannot clear, recolour or forge lines."""
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    (tmp_path / "clips").mkdir()
    write_wav(tmp_path / "clips" / "a\x1b[31m.wav", tone)
    (tmp_path / "clips" / "bro\x07ken.wav").write_bytes(b"RIFF....WAVEnothing")
    with open(tmp_path / "mine.csv", "w", newline="", encoding="utf-8") as f:
        rows = csv.writer(f)
        rows.writerow(["path", "label", "speaker"])
        rows.writerow(["clips/a\x1b[31m.wav", "anger", "sp\x1b[2Jk"])
        rows.writerow(["clips/bro\x07ken.wav", "joy", "s\r2"])
        rows.writerow(["clips/gone\x1b\n.wav", "sad", "s3"])
    proc = _cli("data", str(tmp_path / "mine.csv"), "--check-audio")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert not any(c in out for c in "\x1b\x07\r"), out
    assert "mine:sp\\x1b[2Jk" in out and "mine:s\\r2" in out
    assert "gone\\x1b\\n.wav" in out and "bro\\x07ken.wav" in out
    assert len(out.splitlines()) == len(out.split("\n")) - (1 if out.endswith("\n") else 0)  # no stray line breaks

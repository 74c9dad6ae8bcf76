"""Indexing folders (small made-up trees: order, extensions, copies, missing and unreadable
folders) and the data summary (`ser-train data`)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from ser_edge.errors import ConfigError
from ser_train.data.corpora import IndexResult, Problem, index_folders
from ser_train.data.labels import get_label_set
from ser_train.data.summary import count_clips, format_summary

from .test_corpora import clip

# --- index_folders on small trees -------------------------------------------

def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_index_walks_sorted_and_reports_without_stopping(tmp_path):
    touch(tmp_path, "b/OAF_back_angry.wav", "a/Actor_01/03-01-01-01-01-01-01.FLAC", "a/notes.txt",
          "a/03-02-01-01-01-01-01.wav", "b/hello.wav", "b/.DS_Store", "b/._OAF_back_angry.wav",
          ".git/03-01-01-01-01-01-02.wav", "c/DC/a01.aiff", "c/DC/a01.m4a")
    index = index_folders(tmp_path)
    assert [c.path.relative_to(tmp_path).as_posix() for c in index.clips] == [
        "a/Actor_01/03-01-01-01-01-01-01.FLAC", "b/OAF_back_angry.wav", "c/DC/a01.aiff"]
    assert [(p.path.name, p.reason.split(":")[0]) for p in index.problems] == [
        ("03-02-01-01-01-01-01.wav", "ravdess name '03-02-01-01-01-01-01'"),
        ("hello.wav", "name matches no known corpus (expected e.g. RAVDESS 03-01-05-01-01-01-01, TESS OAF_back_angry, "
                      "EMOVO dis-f1-b1, TurEV-DB 1157_kz_acik, CREMA-D 1001_DFA_ANG_XX, SAVEE DC_a01 or DC/a01, "
                      "EmoDB 03a01Fa, nEMO EB0_anger_1)")]
    assert sorted(p.name for p in index.ignored) == [".DS_Store", "._OAF_back_angry.wav", "a01.m4a", "notes.txt"]
    assert index == index_folders(tmp_path)  # deterministic


def test_index_extensions_are_case_insensitive_with_or_without_dot(tmp_path):
    touch(tmp_path, "03-01-01-01-01-01-01.WAV", "03-01-01-01-01-01-02.flac")
    assert len(index_folders(tmp_path, extensions=["wav"]).clips) == 1
    assert len(index_folders(tmp_path, extensions=(".FLAC", ".wav")).clips) == 2


def test_index_keeps_one_copy_of_a_recording_preferring_the_corpus_name(tmp_path):
    touch(tmp_path, "quirks/ravdess_03-01-02-01-01-02-01.wav", "ravdess/Actor_01/03-01-02-01-01-02-01.flac",
          "tess/OA_bite_neutral.flac", "tess/OAF_bite_neutral.wav")
    index = index_folders(tmp_path)
    # Between two unprefixed copies the first in sorted order wins ("OAF_" < "OA_").
    assert [c.path.name for c in index.clips] == ["03-01-02-01-01-02-01.flac", "OAF_bite_neutral.wav"]
    assert [p.path.name for p in index.problems] == ["ravdess_03-01-02-01-01-02-01.wav", "OA_bite_neutral.flac"]
    assert "another copy of ravdess 03-01-02-01-01-02-01, indexed as" in index.problems[0].reason


def test_index_of_overlapping_folders_lists_each_file_once(tmp_path):
    touch(tmp_path, "ravdess/03-01-01-01-01-01-01.wav")
    index = index_folders([tmp_path, tmp_path / "ravdess", str(tmp_path)])
    assert len(index.clips) == 1 and not index.problems


def test_a_missing_folder_is_a_config_error_naming_it(tmp_path):
    touch(tmp_path, "file.wav")
    with pytest.raises(ConfigError, match="'.*nowhere' does not exist"):
        index_folders([tmp_path, tmp_path / "nowhere"])
    with pytest.raises(ConfigError, match="file.wav' is not a folder"):
        index_folders(tmp_path / "file.wav")


def test_an_unreadable_folder_is_a_problem_not_a_crash(tmp_path, monkeypatch):
    touch(tmp_path, "03-01-01-01-01-01-01.wav")
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        yield from real_walk(top, onerror=onerror, **kwargs)

    monkeypatch.setattr(os, "walk", walk)
    index = index_folders(tmp_path)
    assert len(index.clips) == 1
    assert index.problems == (Problem(tmp_path / "locked", "cannot list folder: Permission denied"),)


# --- counts and summary ------------------------------------------------------

def test_counts_and_summary_show_labels_left_out_and_problems():
    index = IndexResult(
        clips=tuple(clip(n) for n in ("03-01-02-01-01-02-01.wav", "03-01-01-01-01-01-01.wav", "OAF_bite_ps.wav",
                                      "12b10Ld.wav", "12b02Ea.wav")),
        problems=(Problem(Path("x/hello.wav"), "name matches no known corpus"),),
        ignored=(Path("README.md"),),
    )
    counts = count_clips(index.clips, get_label_set("4class"))
    assert counts["corpus"] == Counter(ravdess=2, tess=1, emodb=2)
    assert counts["speaker"] == Counter({"ravdess:01": 2, "tess:OAF": 1, "emodb:12": 2})
    assert counts["label"] == Counter(neutral=2)
    assert counts["left_out"] == Counter(surprised=1, boredom=1, disgust=1)
    assert counts["corpus_left_out"][("emodb", "boredom")] == 1
    text = format_summary(index, get_label_set("4class"))
    assert text.splitlines()[:2] == ["5 clips, 1 problem files, 1 other files ignored",
                                     "label set 4class: 2 clips used, 3 left out (outside the set)"]
    rows = [line.split() for line in text.splitlines()]
    for row in (["corpus", "speakers", "clips"], ["ravdess", "1", "2"], ["total", "3", "5"],
                ["label", "(4class)", "ravdess", "tess", "emodb", "total"], ["neutral", "2", "0", "0", "2"],
                ["happy", "0", "0", "0", "0"], ["surprised", "(left", "out)", "0", "1", "0", "1"],
                ["boredom", "(left", "out)", "0", "0", "1", "1"], ["emodb:12", "2"],
                ["x/hello.wav:", "name", "matches", "no", "known", "corpus"]):
        assert row in rows, text

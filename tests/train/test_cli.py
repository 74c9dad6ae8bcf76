"""The ser-train commands as a user runs them: data summary and eval (run folder and int8 bundle)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ser_train.evaluate.clips import evaluate


def _cli(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def data_with_bad_files(tiny_data, tmp_path):
    """Actor 04 of the tiny data plus a corrupt clip and an unlabelled file."""
    root = tmp_path / "data"
    shutil.copytree(tiny_data / "Actor_04", root / "Actor_04", symlinks=True)
    (root / "Actor_04" / "03-01-05-02-02-02-04.wav").write_bytes(b"RIFF....WAVEnothing here")
    (root / "Actor_04" / "my_recording.wav").write_bytes(b"RIFF....WAVE")
    return root


def test_data_summary_lists_counts_and_problems(data_with_bad_files):
    proc = _cli("data", str(data_with_bad_files), "--check-audio")
    assert proc.returncode == 1, proc.stderr  # something could not be used: the status says so
    assert "31 clips, 1 problem files" in proc.stdout and "ravdess:04" in proc.stdout
    assert "my_recording.wav" in proc.stdout  # unlabelled: reported with its reason
    assert "03-01-05-02-02-02-04.wav" in proc.stdout and "unreadable files (1)" in proc.stdout


def test_eval_bundle_json(tiny_bundle, data_with_bad_files):
    proc = _cli("eval", str(tiny_bundle), str(data_with_bad_files), "--json")
    assert proc.returncode == 1  # a file was skipped: the status says so
    result = json.loads(proc.stdout)
    assert {"n", "accuracy", "uar", "macro_f1", "per_class_recall", "confusion", "skipped"} <= set(result)
    assert result["n"] == 30 and result["runtime"] == "tflite-int8"
    assert result["confusion"]["labels"][0] == "neutral" and len(result["confusion"]["matrix"]) == 7
    reasons = {s["path"].split("/")[-1]: s["reason"] for s in result["skipped"]}
    assert set(reasons) == {"03-01-05-02-02-02-04.wav", "my_recording.wav"}
    assert "truncated WAV" in reasons["03-01-05-02-02-02-04.wav"] or "WAV" in reasons["03-01-05-02-02-02-04.wav"]


def test_eval_run_folder_matches_the_runs_own_test_figures(tiny_run, tiny_data):
    result = evaluate(tiny_run, [tiny_data], speakers=["ravdess:04"])
    recorded = json.loads((tiny_run / "metrics.json").read_text())["test"]
    assert result["runtime"] == "keras-float" and result["n"] == recorded["n"] == 30
    # the same windows and pooling as training's own evaluation: the same confusion matrix
    assert result["confusion"]["matrix"] == recorded["confusion"]["matrix"]


def test_eval_of_a_missing_model_is_one_line(tmp_path, tiny_data):
    proc = _cli("eval", str(tmp_path), str(tiny_data))
    assert proc.returncode == 78
    assert proc.stderr.strip().count("\n") == 0 and "not a ser-train run folder" in proc.stderr


def test_eval_on_own_csv_says_its_clips_have_no_speaker(tiny_run, tiny_data, tmp_path):
    from ser_train.evaluate.clips import format_report

    words = {"05": "Anger", "03": "joy", "04": "sadness"}
    clips = sorted(p for p in (tiny_data / "Actor_04").iterdir() if p.name.split("-")[2] in words)
    rows = [f"{p.resolve()},{words[p.name.split('-')[2]]}" for p in clips] + ["gone.wav,anger"]
    (tmp_path / "mine.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    result = evaluate(tiny_run, [tmp_path / "mine.csv"])
    assert result["n"] == len(clips) == result["without_speaker"] == 12
    assert result["skipped"] == [{"path": str(tmp_path / "gone.wav"), "reason": "mine.csv line 14: file not found"}]
    assert f"{len(clips)} clips have no speaker" in format_report(result)

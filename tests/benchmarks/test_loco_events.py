"""benchmarks/loco_events.py on a one-fold cv made of the tiny fusion run (test speaker ravdess:04,
validation ravdess:03): the held-out speaker's neutral (and calm) clips streamed through the
device pipeline, before and after tuning on the validation speaker."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "loco_events.py"
spec = importlib.util.spec_from_file_location("loco_events", HERE)
loco_events = importlib.util.module_from_spec(spec)
spec.loader.exec_module(loco_events)


def test_events_per_neutral_minute_before_and_after_tuning(tiny_fusion_run: Path, tiny_data: Path, tmp_path: Path,
                                                           capsys) -> None:
    from ser_edge.audio.read import load_audio

    cv = tmp_path / "cv"
    shutil.copytree(tiny_fusion_run, cv / "corpus-ravdess")
    (cv / "corpus-ravdess" / "fold.json").write_text(json.dumps({"name": "corpus-ravdess", "kind": "corpus"}))
    out = tmp_path / "events.json"
    assert loco_events.main([str(cv), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (row,) = result["folds"]
    assert row["speakers"] == 1 and row["validation"] == ["ravdess:03"]
    # neutral (01) and calm (02) clips of actor 04, gaps not counted
    clips = [p for p in (tiny_data / "Actor_04").glob("*.flac") if p.stem.split("-")[2] in ("01", "02")]
    minutes = sum(len(load_audio(p, 16000)) for p in clips) / 16000 / 60
    for key in ("default", "tuned"):
        f = row[key]
        assert f["minutes"] == pytest.approx(minutes, rel=1e-6)
        assert f["per_min"] == pytest.approx(f["events"] / minutes)
        assert sum(f["by_label"].values()) == f["events"] and "neutral" not in f["by_label"]
        assert f["scopes"] == ["utterance"]  # the default scope of a bundle with an utterance head
    assert all(t >= 0.5 for t in row["thresholds"].values())
    assert row["tuned"]["events"] <= row["default"]["events"]  # the same decisions, higher thresholds
    assert result["summary"]["tuned"]["mean"] == pytest.approx(row["tuned"]["per_min"])
    assert "| corpus-ravdess | 1 |" in capsys.readouterr().out


def test_the_tuning_budget_reaches_the_tuner(tiny_fusion_run: Path, tmp_path: Path) -> None:
    cv = tmp_path / "cv"
    shutil.copytree(tiny_fusion_run, cv / "corpus-ravdess")
    (cv / "corpus-ravdess" / "fold.json").write_text(json.dumps({"name": "corpus-ravdess", "kind": "corpus"}))
    out = tmp_path / "events.json"
    assert loco_events.main([str(cv), "--max-false-per-min", "0.1", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["folds"]
    assert row["budget"] == 0.1 and 0.0 <= row["tune_detection"] <= 1.0

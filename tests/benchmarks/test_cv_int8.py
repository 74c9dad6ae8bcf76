"""benchmarks/cv_int8.py on a tiny fusion cv (the tiny fusion run as its folds): the fusion decisions
of float and int8 windows, as ser-convert makes them with the device head, and by the training
regression (``head.pkl``) for a fold made before the device head was saved."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "cv_int8.py"
spec = importlib.util.spec_from_file_location("cv_int8", HERE)
cv_int8 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cv_int8)


@pytest.fixture(scope="module")
def fusion_cv(tiny_fusion_run: Path, tmp_path_factory) -> Path:
    """Two folds of one kind: the run as it is, and a copy without its device head (an older run)."""
    from ser_train.fit.utterance import DEVICE_HEAD_FILE, VECTORS_FILE

    cv = tmp_path_factory.mktemp("fusion_cv")
    for name in ("speaker-0", "speaker-1"):
        shutil.copytree(tiny_fusion_run, cv / name)
        (cv / name / "fold.json").write_text(json.dumps({"name": name, "kind": "speaker"}))
    for old in (DEVICE_HEAD_FILE, VECTORS_FILE):
        (cv / "speaker-1" / old).unlink()
    return cv


def test_fusion_folds_float_and_int8(fusion_cv: Path, tiny_fusion_bundle: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "int8.json"
    assert cv_int8.main([str(fusion_cv), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    device, old = (row["fusion"] for row in result["folds"])
    assert device["head"] == "device" and old["head"].startswith("head.pkl")
    converted = json.loads((tiny_fusion_bundle / "manifest.json").read_text())["metrics"]["utterance"]
    assert device["clips"] == converted["clips"]  # ser-convert's decisions, figure for figure
    for model in ("float", "int8"):
        assert device[model]["uar"] == pytest.approx(converted[model]["uar"])
        assert set(device[model]) >= {"uar", "uar4", "arousal_bacc", "macro_f1"}
        assert 0.0 <= old[model]["uar4"] <= 1.0
    assert device["top1_agreement"] == pytest.approx(converted["top1_agreement"], abs=1e-4)
    summary = result["fusion"]["speaker"]
    both = [device["int8"]["uar"], old["int8"]["uar"]]
    assert summary["int8"]["uar"]["mean"] == pytest.approx(sum(both) / 2) and summary["int8"]["uar"]["n"] == 2
    assert summary["float"]["macro_f1"]["sd"] >= 0.0
    printed = capsys.readouterr().out
    assert "| 7-class UAR |" in printed and "| speaker-1 | head.pkl" in printed

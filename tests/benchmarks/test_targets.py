"""benchmarks/targets.py reads cv folds as the targets define them (no timing here: it prints)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "targets.py"
spec = importlib.util.spec_from_file_location("targets", HERE)
targets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(targets)


def _fold(name: str, kind: str, corpora: list[str], uar: float, by_corpus: dict | None = None, cold: float | None = None):
    metrics = {"uar": uar, "uar4": uar + 0.1, "arousal_bacc": uar + 0.3, "n": 10}
    if by_corpus:
        metrics["by_corpus"] = {c: {"uar": u} for c, u in by_corpus.items()}
    fold = {"name": name, "kind": kind, "test": {"corpora": corpora, "speakers": []}, "metrics": metrics}
    if cold is not None:
        fold["adapted"] = {"cold": {**metrics, "uar": cold}, "all": metrics}
    return fold


def test_cv_figures_follow_the_target_definitions(tmp_path: Path) -> None:
    loco = [_fold(f"corpus-{c}", "corpus", [c], u, cold=u - 0.05)
            for c, u in (("ravdess", 0.3), ("tess", 0.4), ("emovo", 0.2), ("turev", 0.1))]
    speaker = [_fold("speaker-0", "speaker", ["ravdess", "emovo"], 0.5, {"ravdess": 0.6, "emovo": 0.4}),
               _fold("speaker-1", "speaker", ["ravdess", "turev"], 0.5, {"ravdess": 0.7, "turev": 0.3})]
    (tmp_path / "a.json").write_text(json.dumps({"folds": loco}))
    folder = tmp_path / "unfinished"  # a cv folder without cv.json: its finished folds
    for f in speaker:
        (folder / f["name"]).mkdir(parents=True)
        (folder / f["name"] / "fold.json").write_text(json.dumps(f))
    folds = targets.folds_of([tmp_path / "a.json", folder])
    figures = targets.cv_figures(folds)
    assert figures["loco3_uar7"][0] == pytest.approx(0.3)  # TurEV-DB (four classes) is not in the 7-class mean
    assert figures["loco_uar4"][0] == pytest.approx(0.35) and figures["loco_uar4"][2] == 4
    assert figures["ravdess_speaker_uar7"][0] == pytest.approx(0.65)  # RAVDESS speakers only, per fold
    assert figures["loco_arousal"][0] == pytest.approx(0.55)
    assert targets.cv_figures(folds, "cold")["loco3_uar7"][0] == pytest.approx(0.25)


def test_rows_mark_each_target_met_or_not() -> None:
    shipped = {"loco_uar4": (0.61, 0.0, 4), "loco3_uar7": (0.2, 0.0, 3), "ravdess_speaker_uar7": None, "loco_arousal": (0.8, 0, 4)}
    manifest = {"metrics": {"uar_drop": 0.02, "top1_agreement": 0.99, "held_out_part": "validation"},
                "model": {"size_bytes": 120_000}}
    rows = targets.rows(shipped, shipped, {}, None, [{"name": "default", "manifest": manifest, "bench": None}])
    met = {r[0].split(" (")[0]: r[3] for r in rows}
    assert met["leave-one-corpus-out mean, 4-class UAR"] == "met"
    assert met["leave-one-corpus-out mean over RAVDESS, TESS, EMOVO, 7-class UAR"] == "not met"
    assert met["RAVDESS speaker folds mean, 7-class UAR"] == "n/a"
    assert met["default: int8 against float"] == "not met" and met["default: model file"] == "not met"

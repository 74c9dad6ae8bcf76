"""benchmarks/targets.py reads cv folds as issue 23's targets define them (no timing here: it prints)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "targets.py"
spec = importlib.util.spec_from_file_location("targets", HERE)
targets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(targets)

LABELS = ["neutral", "happy", "sad", "angry"]


def _fold(name: str, kind: str, corpora: list[str], uar: float, cold: float | None = None, confusion=None):
    metrics = {"uar": uar, "uar4": uar + 0.1, "arousal_bacc": uar + 0.3, "n": 10,
               "per_class_recall": {k: uar for k in LABELS}}
    if confusion is not None:
        metrics["confusion"] = {"labels": LABELS, "matrix": confusion}
    fold = {"name": name, "kind": kind, "test": {"corpora": corpora, "speakers": []}, "metrics": metrics}
    if cold is not None:
        fold["adapted"] = {"cold": {**metrics, "uar": cold}, "all": metrics}
    return fold


def _diag(n: int, wrong: int = 0) -> list[list[int]]:
    """A confusion with ``n`` clips a class, ``wrong`` of neutral's taken for sad."""
    rows = [[n if i == j else 0 for j in range(4)] for i in range(4)]
    rows[0][0], rows[0][2] = n - wrong, wrong
    return rows


def test_cv_figures_follow_the_target_definitions(tmp_path: Path) -> None:
    seed0 = [_fold(f"corpus-{c}", "corpus", [c], u, cold=u - 0.05, confusion=_diag(10, 9))
             for c, u in (("ravdess", 0.3), ("tess", 0.4))]
    seed1 = [_fold(f"corpus-{c}", "corpus", [c], u, confusion=_diag(30)) for c, u in (("emovo", 0.2), ("turev", 0.1))]
    speaker = [_fold("speaker-0", "speaker", ["ravdess", "emovo"], 0.5), _fold("speaker-1", "speaker", ["tess"], 0.7)]
    (tmp_path / "a.json").write_text(json.dumps({"folds": seed0}))
    (tmp_path / "b.json").write_text(json.dumps({"folds": seed1}))
    folder = tmp_path / "unfinished"  # a cv folder without cv.json: its finished folds
    for f in speaker:
        (folder / f["name"]).mkdir(parents=True)
        (folder / f["name"] / "fold.json").write_text(json.dumps(f))
    folds = targets.folds_of([tmp_path / "a.json", tmp_path / "b.json", folder])
    figures = targets.cv_figures(folds)
    assert figures["loco_uar7"][0] == pytest.approx(0.25)  # every corpus fold, TurEV-DB too
    assert figures["loco_uar7"][2:] == (4, (2, 2))  # 4 folds, 2 of each of 2 cv runs (seeds)
    assert "4 folds: 2 x 2 seeds" in targets._fmt(figures["loco_uar7"])
    assert "3 folds of 2 cv runs: 2 + 1" in targets._fmt(targets._mean([0.1, 0.2, 0.3], [2, 1]))  # one unfinished
    assert figures["loco_uar4"][0] == pytest.approx(0.35) and figures["loco_arousal"][0] == pytest.approx(0.55)
    assert figures["speaker_uar7"][0] == pytest.approx(0.6)
    # pooled confusions, not the mean of the folds' recalls: neutral 2 + 30 + 30 right of 80
    assert figures["pooled_recall"]["neutral"] == pytest.approx(62 / 80)
    assert figures["pooled_recall"]["happy"] == pytest.approx(1.0)
    cold = targets.cv_figures(folds, "cold")
    assert cold["loco_uar7"][0] == pytest.approx(0.225)  # the folds without a cold start count as they are
    for f in seed0 + seed1:
        del f["metrics"]["confusion"]
    assert targets.pooled_recall(seed0 + seed1)["sad"] == pytest.approx(0.25)  # no confusions: the mean of the recalls


def test_rows_need_the_goal_and_the_baseline() -> None:
    def fig(x: float):
        return (x, 0.0, 5, (5,))

    shipped = {"loco_uar7": fig(0.50), "loco_uar4": fig(0.7), "loco_arousal": fig(0.85), "speaker_uar7": None,
               "pooled_recall": {"neutral": 0.1, "happy": 0.5, "sad": 0.5, "angry": 0.5}}
    baseline = {"loco_uar7": fig(0.40), "loco_uar4": fig(0.5), "loco_arousal": fig(0.9)}
    four = {"loco_uar4": fig(0.61), "pooled_recall": {k: 0.6 for k in LABELS}}
    rows = targets.cv_rows(shipped, shipped, baseline, four, None, {"loco_uar4": fig(0.65)})
    met = {r[0].split(" (")[0].split(":")[0]: r[3] for r in rows}
    assert met["leave-one-corpus-out mean, 7-class UAR"] == "met"
    assert met["leave-one-corpus-out mean, 4-class UAR"] == "not met"  # >= 0.60 but below its own baseline (4 classes)
    assert met["leave-one-corpus-out mean, binary arousal balanced accuracy"] == "not met"  # below the baseline
    assert met["speaker folds mean, 7-class UAR"] == "n/a"
    assert met["7-class recipe"] == "not met" and met["4-class recipe"] == "met"  # neutral 10 % < chance 25 %
    assert "-4.0 points on the baseline" in rows[1][2] and rows[1][4].startswith("65.0")


def test_events_int8_and_bundle_rows() -> None:
    events = {"folds": [{"fold": "corpus-a", "tuned": {"per_min": 0.5}, "default": {"per_min": 3.0}},
                        {"fold": "corpus-b", "tuned": {"per_min": 1.7}, "default": {"per_min": 4.0}}]}
    row = targets.events_row([events])
    assert row[3] == "not met" and "worst corpus-b 1.70" in row[2] and row[2].startswith("1.10")
    fusion = {"float": {"uar": 0.40}, "int8": {"uar": 0.385}, "top1_agreement": 0.99}
    int8 = {"folds": [{"fold": "corpus-x", "float_uar": 0.3, "int8_uar": 0.3, "agreement": 0.99, "fusion": fusion}]}
    (row,) = targets.int8_rows([int8])
    assert row[3] == "not met" and "1.5 points lower" in row[2] and "utterance decisions" in row[0]
    manifest = {"metrics": {"uar_drop": 0.0, "top1_agreement": 0.99, "float": {"uar": 0.4}, "held_out_part": "validation",
                            "utterance": {"clips": 50, "float": {"uar": 0.5}, "int8": {"uar": 0.5}, "top1_agreement": 0.96}},
                "model": {"size_bytes": 80_000}}
    rows = targets.bundle_rows({"name": "default", "manifest": manifest, "bench": None})
    assert [r[3] for r in rows] == ["not met", "met"]  # the utterance head's agreement (96 %), not the windows'


def test_json_rows_are_what_the_card_reads(tmp_path: Path) -> None:
    from ser_convert.card_sections import targets_section

    cv = tmp_path / "cv.json"
    cv.write_text(json.dumps({"folds": [_fold("corpus-a", "corpus", ["a"], 0.5, confusion=_diag(5))]}))
    out = tmp_path / "t.json"
    assert targets.main(["--cv", str(cv), "--baseline", str(cv), "--no-bench", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert all(set(r) == set(targets.KEYS) for r in rows)
    assert rows[0]["met"] == "not met"  # level with its baseline is not above it
    assert len(targets_section(rows)) == len(rows) + 5

"""The model card is rendered from the manifest and the recipe's cv.json, figures included."""

from __future__ import annotations

import json
from pathlib import Path

from ser_convert.card import render_card
from ser_convert.card_sections import cv_section

FOLD = {"name": "corpus-emovo", "kind": "corpus", "test": {"speakers": ["emovo:f1", "emovo:m1"], "corpora": ["emovo"]},
        "metrics": {"uar": 0.31, "uar4": 0.45, "macro_f1": 0.28, "arousal_bacc": 0.66, "n": 196}}


def _cv(**summary_extra) -> dict:
    summary = {"corpus": {k: {"mean": v, "sd": 0.05, "n": 1} for k, v in FOLD["metrics"].items() if k != "n"}}
    summary["corpus"].update(summary_extra)
    return {"folds": [FOLD], "summary": summary, "machine": "x86_64, 2 cores", "date": "2026-12-01", "wall_seconds": 600}


def test_card_carries_the_manifest_figures(tiny_bundle):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    card = render_card(tiny_bundle, [(Path("x-corpus.json"), _cv())])
    assert f"{100 * manifest['metrics']['int8']['uar']:.1f} %" in card
    assert manifest["model"]["sha256"] in card
    assert "Non-commercial use only" in card and "CC BY-NC-SA 4.0" in card  # tiny data: RAVDESS only
    assert "On its test speakers (ravdess:04)" in card
    assert "| corpus-emovo | emovo (2 speakers) | 31.0 % |" in card
    assert "| **neutral** |" in card
    assert "No thresholds were tuned for this bundle" in card  # the tiny bundle was never tuned


def test_cv_section_shows_cold_against_adapted_and_the_pooled_confusion(tmp_path):
    adapted = {c: {k: {"mean": v, "sd": 0.01, "n": 4} for k, v in (("uar", u), ("uar4", u + 0.1), ("arousal_bacc", 0.7))}
               for c, u in (("cold", 0.2), ("30s", 0.25), ("all", 0.27))}
    confusion = {"labels": ["neutral", "angry"], "matrix": [[3, 1], [0, 4]]}
    (tmp_path / "shipped-corpus-confusion.png").write_bytes(b"png")
    text = "\n".join(cv_section(_cv(adapted=adapted, confusion=confusion), tmp_path / "shipped-corpus.json", tmp_path))
    assert "| cold start (the prior alone) | 20.0 % ± 1.0 | 30.0 % ± 1.0 | 70.0 % ± 1.0 |" in text
    assert "| after all of the speaker's other clips | 27.0 % ± 1.0 |" in text
    assert "| **neutral** | 3 | 1 | 75.0 % |" in text
    assert "![pooled confusion, leave one corpus out](shipped-corpus-confusion.png)" in text
    assert "- leave one corpus out (1 folds): UAR 31.0 % ± 5.0" in text
    run = tmp_path / "run"  # a `ser-train cv` folder: its own confusion-<kind>.png beside cv.json
    run.mkdir()
    (run / "confusion-corpus.png").write_bytes(b"png")
    text = "\n".join(cv_section(_cv(confusion=confusion), run / "cv.json", tmp_path))
    assert "![pooled confusion, leave one corpus out](run/confusion-corpus.png)" in text


def test_card_shows_tuned_thresholds_and_the_events_they_raise(tiny_bundle, tmp_path):
    import shutil

    from ser_convert.manifest import write_manifest

    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["thresholds"] = {"angry": 0.75}
    figures = {"false_per_min": 0.4, "noise_events_per_min": 0.0, "mean_detection": 0.5, "detection": {"angry": 0.5},
               "neutral_minutes": 3.2}
    manifest["metrics"]["events"] = {"speakers": ["ravdess:03"], "smoothing": {"average_windows": 3, "min_duration_s": 1.0,
                                     "hold_s": 3.0}, "tuned": figures, "default": {**figures, "false_per_min": 2.5}}
    write_manifest(bundle, manifest)
    card = render_card(bundle)
    assert "| angry | 0.75 |" in card
    assert "| all 0.5 (untuned) | 2.50 | 0.00 | 50.0 % |" in card and "| tuned | 0.40 |" in card


def test_ser_convert_card_writes_the_card_and_run_dirs_still_go_to_the_conversion(tiny_bundle, tmp_path):
    from click.testing import CliRunner

    from ser_convert.cli import main

    result = CliRunner().invoke(main, ["card", str(tiny_bundle)])
    assert result.exit_code == 0 and result.output == render_card(tiny_bundle)
    (tmp_path / "t.json").write_text(json.dumps([{"figure": "model file", "target": "<= 100 KB", "measured": "9 KB",
                                                  "met": "met", "baseline": ""}]))
    result = CliRunner().invoke(main, ["card", str(tiny_bundle), "--targets", str(tmp_path / "t.json"), "-o", str(tmp_path / "C.md")])
    assert result.exit_code == 0 and "| model file | <= 100 KB | 9 KB | met |  |" in (tmp_path / "C.md").read_text()
    result = CliRunner().invoke(main, [str(tmp_path / "no-run"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "RUN_DIR" in result.output and "does not exist" in result.output


def test_the_card_of_a_bundle_with_an_utterance_head_says_what_decides(tiny_fusion_bundle):
    from ser_convert.card import render_card

    card = render_card(tiny_fusion_bundle)
    assert "Decisions over utterances" in card and "weighted 0.25" in card
    assert "| utterance, int8 windows |" in card and "Confusion matrix of the int8 utterance decisions" in card

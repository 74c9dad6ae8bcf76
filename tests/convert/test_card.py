"""The model card is rendered from the manifest, figures included."""

from __future__ import annotations

import json

from ser_convert.card import render_card


def test_card_carries_the_manifest_figures(tiny_bundle):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    card = render_card(tiny_bundle, folds={"machine": "test", "date": "2026-11-21", "folds": [
        {"fold": 0, "test": ["ravdess:04"], "uar": 0.5, "accuracy": 0.5, "macro_f1": 0.4, "n": 30},
        {"fold": 1, "test": ["ravdess:03"], "uar": 0.3, "accuracy": 0.3, "macro_f1": 0.2, "n": 30}]})
    assert f"{100 * manifest['metrics']['int8']['uar']:.1f} %" in card
    assert manifest["model"]["sha256"] in card
    assert "Non-commercial use only" in card and "CC BY-NC-SA 4.0" in card  # tiny data: RAVDESS only
    assert "never heard RAVDESS actors 04" in card
    assert "Mean UAR 40.0 % (sd 14.1 points)" in card
    assert "| **neutral** |" in card


def test_card_marks_targets_met_or_not(tiny_bundle):
    card = render_card(tiny_bundle)
    assert "| model file at most 100 KB |" in card
    assert "| int8 UAR on unseen RAVDESS speakers at least 65 % |" in card and "| **no** |" in card  # a 3-epoch model


def test_card_names_the_speaker_limit_from_the_speaker_curve(tiny_bundle):
    curve = [{"fold": 4, "kept": ["ravdess:03"] * 7, "uar": 0.454, "uar_all_actors": 0.606, "n_all_actors": 14}]
    card = render_card(tiny_bundle, speaker_curve=curve)
    limits = card[card.index("## Limitations"):card.index("## Licence")]
    assert "fold 4: 45.4 % with 7 actors vs 60.6 % with 14" in limits
    assert "Too few speakers" not in render_card(tiny_bundle)


def test_ser_convert_card_prints_the_card_and_run_dirs_still_go_to_the_conversion(tiny_bundle, tmp_path):
    from click.testing import CliRunner

    from ser_convert.cli import main

    result = CliRunner().invoke(main, ["card", str(tiny_bundle)])
    assert result.exit_code == 0 and result.output == render_card(tiny_bundle)
    result = CliRunner().invoke(main, [str(tmp_path / "no-run"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "RUN_DIR" in result.output and "does not exist" in result.output


def test_card_fold_table_from_a_cv_json():
    from ser_convert.card import _folds_section

    fold = {"name": "corpus-emovo", "test": {"speakers": ["emovo:f1", "emovo:m1"], "corpora": ["emovo"]},
            "metrics": {"uar": 0.31, "uar4": 0.45, "macro_f1": 0.28, "arousal_bacc": 0.66, "n": 196}}
    summary = {"corpus": {k: {"mean": v, "sd": 0.05, "n": 1} for k, v in fold["metrics"].items() if k != "n"}}
    text = "\n".join(_folds_section({"folds": [fold], "summary": summary, "machine": "x86_64, 2 cores", "date": "2026-12-01"}))
    assert "| corpus-emovo | emovo (2 speakers) | 31.0 % | 45.0 % | 28.0 % | 66.0 % | 196 |" in text
    assert "- leave one corpus out (1 folds): UAR 31.0 % ± 5.0" in text

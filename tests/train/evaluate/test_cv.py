"""`ser-train cv` on a tiny real subset of three corpora: folds run, resume, and refuse to mix recipes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ser_train.metrics import arousal_balanced_accuracy, restricted_report

LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


def test_four_class_uar_restricts_scores_to_the_four_classes():
    truth = np.array([0, 1, 2, 3, 4])  # the fearful clip is not counted
    scores = np.zeros((5, 7))
    scores[0, [4, 0]] = [0.9, 0.1]  # best overall "fearful", best of the four "neutral": right
    scores[1, 1] = scores[2, 3] = scores[3, 3] = scores[4, 4] = 1.0
    r = restricted_report(truth, scores, LABELS, ["neutral", "happy", "sad", "angry"])
    assert r["n"] == 4 and r["per_class_recall"] == {"neutral": 1.0, "happy": 1.0, "sad": 0.0, "angry": 1.0}
    assert r["uar"] == pytest.approx(0.75)


def test_arousal_balanced_accuracy():
    # high: angry happy fearful surprised; low: neutral sad disgust
    truth = np.array([3, 3, 1, 0, 2, 5])
    pred = np.array([1, 0, 6, 0, 4, 2])  # high recall 2/3, low recall 2/3
    assert arousal_balanced_accuracy(truth, pred, LABELS) == pytest.approx(2 / 3)
    assert arousal_balanced_accuracy(np.array([0, 2]), np.array([0, 3]), LABELS) == pytest.approx(0.5)  # low side only


@pytest.fixture(scope="module")
def three_corpora(data_dir: Path, tmp_path_factory) -> Path:
    """Symlinks to 48 real clips: 4 speakers x 4 clips of RAVDESS, EMOVO and TurEV-DB."""
    root = tmp_path_factory.mktemp("cv_data")
    picks = {f"ravdess/Actor_{a}": "03-01-0[2345]-01-01-01-*" for a in ("01", "02", "03", "04")}
    picks.update({f"emovo/{s}": "[nrst]*-b1*" for s in ("f1", "f2", "m1", "m2")})
    for folder, pattern in picks.items():
        (root / folder).mkdir(parents=True)
        for clip in sorted((data_dir / folder).glob(pattern))[:4]:
            (root / folder / clip.name).symlink_to(clip)
    for emotion in ("Angry", "Calm", "Happy", "Sad"):
        (root / "turev" / emotion).mkdir(parents=True)
        for speaker in ("1234", "1358", "1984", "6783"):
            clip = sorted((data_dir / "turev" / emotion).glob(f"{speaker}_*"))[0]
            (root / "turev" / emotion / clip.name).symlink_to(clip)
    return root


def _config(root: Path, cache: Path, **changes):
    pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")
    from ser_train.config import ModelConfig, TrainConfig
    from ser_train.features.augment import AugmentConfig

    settings = dict(data_dirs=tuple(str(root / c) for c in ("ravdess", "emovo", "turev")), epochs=2, patience=1,
                    batch_size=16, workers=1, cache_dir=str(cache), model=ModelConfig(width=8, depth=2),
                    augment=AugmentConfig.off())
    return TrainConfig(**{**settings, **changes})


def test_cv_runs_resumes_fold_by_fold_and_writes_json_and_png(three_corpora, tmp_path):
    from ser_train.evaluate.cv import plan, run_cv
    from ser_train.evaluate.cv_report import format_table

    base = _config(three_corpora, tmp_path / "cache")
    folds = plan(base, ["corpus"])
    assert [f.name for f in folds] == ["corpus-ravdess", "corpus-emovo", "corpus-turev"]
    out, lines = tmp_path / "cv", []
    first = run_cv(base, folds[:1], out, echo=lines.append)  # as if stopped after one fold
    fold_file = out / "corpus-ravdess" / "fold.json"
    stamp = fold_file.stat().st_mtime_ns
    result = run_cv(base, folds, out, echo=lines.append)
    assert fold_file.stat().st_mtime_ns == stamp  # read back, not retrained
    assert sum("training" in line for line in lines) == 3 and sum("(done before)" in line for line in lines) == 1
    assert [f["name"] for f in result["folds"]] == [f.name for f in folds] and len(first["folds"]) == 1
    saved = json.loads((out / "cv.json").read_text())
    assert saved["summary"]["corpus"]["uar"]["n"] == 3 and (out / "cv.png").stat().st_size > 1000
    turev = saved["folds"][2]
    assert turev["test"] == {"speakers": ["turev:1234", "turev:1358", "turev:1984", "turev:6783"], "corpora": ["turev"]}
    assert turev["train"]["corpora"] == ["ravdess", "emovo"] and turev["metrics"]["n"] == 16
    # TurEV has four classes: the 7-class UAR averages over those, absent classes are None
    assert turev["metrics"]["per_class_recall"]["fearful"] is None
    assert 0.0 <= turev["metrics"]["uar"] <= 1.0 and set(turev["metrics"]["predicted_share"]) == set(LABELS)
    assert (out / "corpus-turev" / "model.keras").is_file()
    pooled = result["summary"]["corpus"]["confusion"]
    assert pooled["labels"] == list(LABELS)
    assert sum(map(sum, pooled["matrix"])) == sum(f["metrics"]["n"] for f in result["folds"])  # every test clip once
    assert (out / "confusion-corpus.png").stat().st_size > 0
    table = format_table(result)
    assert "corpus mean ± sd" in table and "wall time" in table and "corpus-emovo: neutral" in table


def test_cv_refuses_to_mix_recipes_in_one_folder(three_corpora, tmp_path):
    from ser_edge.errors import ConfigError
    from ser_train.evaluate.cv import plan, run_cv

    base = _config(three_corpora, tmp_path / "cache")
    (tmp_path / "cv").mkdir()
    from ser_train.evaluate.cv import recipe

    (tmp_path / "cv" / "recipe.json").write_text(json.dumps(recipe(base)))
    with pytest.raises(ConfigError, match="holds folds of another recipe \\(differs in: epochs\\)"):
        run_cv(_config(three_corpora, tmp_path / "cache", epochs=3), plan(base, ["corpus"]), tmp_path / "cv")
    # a recipe.json written before label smoothing existed still matches a recipe without it
    from ser_train.evaluate.cv import _check_recipe

    old = recipe(base)
    old.pop("label_smoothing")
    (tmp_path / "cv" / "recipe.json").write_text(json.dumps(old))
    _check_recipe(base, tmp_path / "cv")
    with pytest.raises(ConfigError, match="differs in: label_smoothing"):
        _check_recipe(_config(three_corpora, tmp_path / "cache", label_smoothing=0.1), tmp_path / "cv")


def test_cv_cli_unknown_fold_is_one_line(three_corpora, tmp_path):
    code = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
    proc = subprocess.run([sys.executable, "-c", code, "cv", str(three_corpora / "ravdess"), str(three_corpora / "emovo"),
                           "-o", str(tmp_path / "cv"), "--only", "corpus-tess"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "no fold corpus-tess; folds: corpus-ravdess, corpus-emovo" in proc.stderr and "Traceback" not in proc.stderr


def test_cv_of_a_speaker_normalised_recipe_reports_cold_30s_all_and_neutral(three_corpora, tmp_path):
    from ser_edge.frontend.params import FeatureParams
    from ser_train.evaluate.cv import plan, run_cv
    from ser_train.evaluate.cv_report import format_table

    base = _config(three_corpora, tmp_path / "cache", params=FeatureParams(normalisation="speaker_cmvn"))
    fold = [f for f in plan(base, ["corpus"]) if f.name == "corpus-turev"]
    result = run_cv(base, fold, tmp_path / "cv", echo=lambda line: None)
    done = result["folds"][0]
    assert set(done["adapted"]) == {"cold", "30s", "all", "neutral30s"}
    assert done["metrics"] == done["adapted"]["all"] and done["adapted"]["cold"]["n"] == 16
    cold = result["summary"]["corpus"]["adapted"]["cold"]["uar"]
    assert cold["n"] == 1 and 0.0 <= cold["mean"] <= 1.0
    assert "  cold" in format_table(result) and "  30s" in format_table(result)


def test_cv_enrol_per_class_adds_enrolled_figures_to_each_fold_and_the_summary(three_corpora, tmp_path):
    import json

    from ser_edge.frontend.params import FeatureParams
    from ser_train.evaluate.cv import plan, run_cv
    from ser_train.evaluate.cv_report import fold_line

    base = _config(three_corpora, tmp_path / "cache", params=FeatureParams(normalisation="speaker_cmvn"))
    fold = [f for f in plan(base, ["corpus"]) if f.name == "corpus-turev"]
    result = run_cv(base, fold, tmp_path / "cv", echo=lambda line: None, enrol_per_class=1)
    enrolled = result["folds"][0]["enrolled"]
    # one clip of each class per speaker: it is never enrolled (a class keeps a clip to score), so all 16 are scored
    assert enrolled["k"] == 1 and enrolled["speakers"] == 4 and enrolled["n"] == 16
    assert enrolled["uar"] == enrolled["base_uar"]
    saved = json.loads((tmp_path / "cv" / "corpus-turev" / "fold.json").read_text())
    assert saved["enrolled"] == enrolled  # a rerun with the same K reads it back
    assert result["enrolled"]["corpus"]["k"] == 1 and result["enrolled"]["corpus"]["n"] == 1
    assert "enrolled K=1" in fold_line(result["folds"][0])

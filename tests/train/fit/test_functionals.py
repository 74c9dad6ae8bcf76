"""The reference baseline (`--model functionals`) on a tiny real subset: fit, cv and convert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TRAIN = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
CONVERT = "import sys; from ser_convert.cli import main; sys.argv = ['ser-convert', *sys.argv[1:]]; main()"


def _cli(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def baseline_run(tiny_data: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("baseline")
    proc = _cli(TRAIN, "fit", str(tiny_data), "-o", str(out / "run"), "--model", "functionals",
                "--test-speakers", "04", "--validation-speakers", "03", "--cache", str(out / "cache"))
    assert proc.returncode == 0, proc.stderr
    assert "test speakers: 30 clips" in proc.stdout
    return out / "run"


def test_fit_writes_a_run_with_the_baseline_and_its_figures(baseline_run):
    from ser_train.fit.run import load_run

    run = load_run(baseline_run)
    assert run.kind == "functionals" and run.config.model.to_dict()["kind"] == "functionals"
    metrics = json.loads((baseline_run / "metrics.json").read_text())
    assert metrics["test"]["n"] == 30 and metrics["clips"] == {"train": 60, "validation": 30, "test": 30}
    model = run.load_model()
    table_scores = model.scores(model.mean[None, :])  # the mean clip: a probability over the 7 labels
    assert table_scores.shape == (1, 7) and table_scores.sum() == pytest.approx(1.0)
    assert not (baseline_run / "model.keras").exists()


def test_the_baseline_is_not_converted(baseline_run, tmp_path):
    proc = _cli(CONVERT, str(baseline_run), "-o", str(tmp_path / "bundle"))
    assert proc.returncode == 78 and "not a device model" in proc.stderr and "Traceback" not in proc.stderr


def test_a_conv1d_config_keeps_its_dict_without_kind():
    from ser_train.config import ModelConfig, TrainConfig

    assert "kind" not in ModelConfig().to_dict()
    config = TrainConfig(data_dirs=("x",), model=ModelConfig(kind="functionals"))
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_cv_of_the_baseline_reports_every_fold(tiny_data, tmp_path):
    proc = _cli(TRAIN, "cv", str(tiny_data), "-o", str(tmp_path / "cv"), "--folds", "speaker", "-k", "2",
                "--model", "functionals", "--cache", str(tmp_path / "cache"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert result["summary"]["speaker"]["uar"]["n"] == 2
    assert all(f["metrics"]["n"] > 0 and f["epochs"] == 0 for f in result["folds"])
    assert result["recipe"]["model"]["kind"] == "functionals"


def test_an_utterance_head_decides_the_clips_of_a_run(tiny_data, tmp_path):
    """--head utterance+stats: a regression on the clip's window embeddings and statistics; its
    figures are the run's; the converter refuses it until the device runs heads."""
    run = tmp_path / "run"
    proc = _cli(TRAIN, "fit", str(tiny_data), "-o", str(run), "--head", "utterance+stats", "--epochs", "2",
                "--width", "8", "--depth", "2", "--no-augment", "--norm", "speaker", "--test-speakers", "04",
                "--validation-speakers", "03", "--cache", str(tmp_path / "cache"), "-q")
    assert proc.returncode == 0, proc.stderr
    assert (run / "head.pkl").is_file() and json.loads((run / "metrics.json").read_text())["test"]["n"] == 30
    refused = _cli(CONVERT, str(run), "-o", str(tmp_path / "bundle"))
    assert refused.returncode == 78 and "utterance head" in refused.stderr

"""The converter reads a run only through `Run`: no corpus is indexed, the windows come from the
feature cache and the run's clip list; and the whole chain as a user runs it: fit, convert, classify."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ser_train.fit import prepare as prepare_module
from ser_train.fit.run import load_run

TRAIN = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
CONVERT = "import sys; from ser_convert.cli import main; sys.argv = ['ser-convert', *sys.argv[1:]]; main()"
EDGE = "import sys; from ser_edge.cli import main; sys.argv = ['ser-edge', *sys.argv[1:]]; main()"


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)


def test_converting_a_run_indexes_no_corpus(tiny_run, tmp_path, monkeypatch):
    from ser_convert.convert import convert_run

    def refuse(*args, **kwargs):
        raise AssertionError("the converter indexed a corpus")

    monkeypatch.setattr(prepare_module, "index_folders", refuse)
    bundle, parity = convert_run(tiny_run, tmp_path / "bundle", progress=False, gate=False)
    assert (bundle / "model.tflite").is_file() and parity.source == "test" and parity.windows > 0


def test_the_run_gives_the_windows_training_scored(tiny_run):
    run = load_run(tiny_run)
    windows = run.windows("test")
    assert windows.x.shape[1:] == (run.params.window_frames, run.params.n_mfcc) and len(windows) > 0
    scores = run.load_model().predict(windows.x, verbose=0)
    # the run's own test figures came from the same windows and pooling
    assert run.clip_report("test", scores)["confusion"] == run.metrics["test"]["confusion"]
    assert {c.speaker for c in run.clips()} == {"ravdess:01", "ravdess:02", "ravdess:03", "ravdess:04"}
    assert "Non-commercial" in run.licence["model_use"]


@pytest.mark.slow
def test_fit_convert_classify_as_a_user_runs_them(tiny_data, tmp_path):
    """Two epochs on two speakers: ser-convert refuses the result at the class gate and writes
    nothing; converted past the gate (as the conversion tests do), the bundle classifies."""
    from ser_convert.convert import convert_run

    run, bundle = tmp_path / "run", tmp_path / "bundle"
    fit = _run(TRAIN, "fit", str(tiny_data), "-o", str(run), "--test-speakers", "04", "--validation-speakers", "03",
               "--epochs", "2", "--width", "8", "--depth", "2", "--no-augment", "--norm", "speaker",
               "--cache", str(tmp_path / "cache"), "-q")
    assert fit.returncode == 0, fit.stderr
    assert "test speakers: 30 clips" in fit.stdout and (run / "clips.json").is_file()
    refused = _run(CONVERT, str(run), "-o", str(bundle), "-q")
    assert refused.returncode == 1 and "has recall" in refused.stderr and "below the floor" in refused.stderr
    assert not bundle.exists() and not list(tmp_path.glob(".bundle.*"))  # nothing written, no staging left
    convert_run(run, bundle, progress=False, gate=False)
    clip = sorted((tiny_data / "Actor_04").glob("*.flac"))[0]
    classify = _run(EDGE, "classify", "-m", str(bundle), str(clip), "--json")
    assert classify.returncode == 0, classify.stderr
    result = json.loads(classify.stdout.splitlines()[0])
    labels = json.loads((bundle / "manifest.json").read_text())["labels"]
    assert result["label"] in labels and np.isclose(sum(result["scores"].values()), 1.0, atol=0.02)

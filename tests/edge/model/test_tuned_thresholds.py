"""A bundle's tuned per-label thresholds: checked at load, used by the pipeline, overridden by the config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ser_edge.config.settings import SmoothingSettings
from ser_edge.errors import BundleError
from ser_edge.listen.pipeline import Pipeline
from ser_edge.model.bundle import load_bundle, manifest_digest
from ser_edge.model.shipped import default_bundle_path


def with_thresholds(tmp_path: Path, thresholds) -> Path:
    copy = Path(shutil.copytree(default_bundle_path(), tmp_path / "bundle"))
    path = copy / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.pop("manifest_sha256", None)
    manifest["thresholds"] = thresholds
    manifest["manifest_sha256"] = manifest_digest(manifest)
    path.write_text(json.dumps(manifest))
    return copy


def test_a_tuned_threshold_is_a_floor_that_only_a_per_label_threshold_lowers() -> None:
    labels = ["neutral", "happy", "angry"]
    plain = SmoothingSettings(threshold=0.4)
    assert plain.smoother_kwargs(labels)["thresholds"] == 0.4  # nothing tuned: as before
    tuned = plain.smoother_kwargs(labels, {"happy": 0.7, "angry": 0.8})["thresholds"]
    assert tuned == {"neutral": 0.4, "happy": 0.7, "angry": 0.8}
    own = SmoothingSettings(threshold=0.4, thresholds={"angry": 0.55}).smoother_kwargs(labels, {"happy": 0.7, "angry": 0.8})
    assert own["thresholds"] == {"neutral": 0.4, "happy": 0.7, "angry": 0.55}
    strict = SmoothingSettings(threshold=0.9).smoother_kwargs(labels, {"happy": 0.7, "angry": 0.95})
    assert strict["thresholds"] == {"neutral": 0.9, "happy": 0.9, "angry": 0.95}  # a stricter global one still raises


@pytest.mark.parametrize("thresholds, message", [
    ({"joy": 0.6}, "names 'joy', which is not a label of the model"),
    ({"happy": 1.5}, "thresholds\\['happy'\\] = 1.5 is invalid; allowed: a number in \\[0, 1\\]"),
    ({"happy": True}, "is invalid"),
    ([0.5], "must be an object"),
])
def test_bad_thresholds_fail_the_load_naming_the_bundle(tmp_path: Path, thresholds, message) -> None:
    with pytest.raises(BundleError, match=message):
        load_bundle(with_thresholds(tmp_path, thresholds))


def _emotions(bundle, voice: np.ndarray) -> set[str]:
    pipeline = Pipeline(bundle, status_interval_s=0.0)
    return {e.label for e in pipeline.push(voice) + pipeline.finish() if e.type == "emotion"}


def test_the_pipeline_decides_with_the_bundles_thresholds(tmp_path: Path) -> None:
    t = np.arange(16000 * 6) / 16000
    rng = np.random.default_rng(0)
    voice = (0.3 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
             + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    untuned = _emotions(load_bundle(default_bundle_path()), voice)
    assert untuned - {"neutral"}, "precondition: the synthetic voice raises a non-neutral event at the default 0.5"
    raised = {label: 1.0 for label in untuned - {"neutral"}}
    bundle = load_bundle(with_thresholds(tmp_path, raised))
    assert bundle.thresholds == raised
    assert not _emotions(bundle, voice) & set(raised)  # those labels can no longer reach their threshold

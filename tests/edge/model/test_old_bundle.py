"""A bundle made before speaker normalisation behaves exactly as before: the default model shipped
until then (kept as tests/edge/old_bundles/window-cmvn-v1) gives the clip scores and pipeline
emotion events on real clips recorded before the change (golden/shipped_scores.json, from
golden/make_shipped_scores.py), and its events carry no adaptation field."""

from __future__ import annotations

import json
from pathlib import Path

from ser_edge.model.bundle import load_bundle
from tests.edge.golden.make_shipped_scores import OLD_BUNDLE, record

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "shipped_scores.json"


def test_old_bundle_is_not_adaptive_and_has_no_tuned_thresholds():
    bundle = load_bundle(OLD_BUNDLE)
    assert not bundle.adaptive and bundle.prior is None and bundle.thresholds == {}


def test_old_model_scores_and_events_are_unchanged(data_dir: Path):
    expected = json.loads(GOLDEN.read_text())
    got = json.loads(json.dumps(record(data_dir)))
    assert got["clips"] == expected["clips"]  # exact: same floats
    assert got["events"] == expected["events"]
    assert all(e for e in got["events"].values())  # the smoother decided on every clip


def test_old_model_events_carry_no_adaptation_fields(data_dir: Path):
    import numpy as np

    from ser_edge.audio.read import load_audio
    from ser_edge.listen.pipeline import Pipeline

    x = load_audio(data_dir / "ravdess/Actor_17/03-01-05-02-01-01-17.flac", 16000)
    pipeline = Pipeline(OLD_BUNDLE, status_interval_s=1.0)
    events = pipeline.push(np.concatenate([x, x, x])) + pipeline.finish()
    assert pipeline.adapter is None and any(e.type == "emotion" for e in events)
    assert not any("adapted_s" in e.to_dict() or "adapted_s" in e.to_dict().get("extra", {}) for e in events)

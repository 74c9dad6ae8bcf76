"""A bundle's utterance head: read from the manifest with clear errors, and its arithmetic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ser_edge.errors import BundleError
from ser_edge.model.bundle import load_bundle
from ser_edge.model.utterance import MAX_COUNT, UtteranceHead, VectorStats, read_head

ROOT = Path(__file__).resolve().parents[3]


def head(classes: int = 3, dims: int = 4) -> UtteranceHead:
    rng = np.random.default_rng(0)
    return UtteranceHead(rng.normal(size=(classes, dims)), rng.normal(size=classes), rng.normal(size=dims),
                         np.abs(rng.normal(size=dims)) + 0.5)


def test_scores_are_the_softmax_of_both_experts_log_probabilities():
    h = head()
    windows = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1]], dtype=np.float32)
    z = np.array([0.3, -1.0, 0.5, 2.0])
    logits = np.log(windows.astype(np.float64)).mean(axis=0) + np.log(h.regression(z))
    want = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    got = h.scores(windows, z)
    assert got.dtype == np.float32 and got == pytest.approx(want, abs=1e-6)
    assert h.scores(np.array([[1.0, 0.0, 0.0]]), z)[1] > 0  # a zero window score is floored, not a veto


def test_manifest_entry_round_trips():
    h = head()
    back = read_head("b", {"utterance": json.loads(json.dumps(h.to_dict()))}, 3, 4)
    assert back is not None and back.weight == pytest.approx(h.weight, rel=1e-6)
    assert read_head("b", {}, 3, 4) is None


@pytest.mark.parametrize("edit, message", [
    (lambda e: e.update(kind="stacked"), "kind one of fusion"),
    (lambda e: e.update(dims=5), "dims is 5, but the front end gives 4"),
    (lambda e: e.update(weight=[[0.0] * 4] * 2), "weight must be 3 x 4 finite numbers"),
    (lambda e: e["bias"].__setitem__(0, float("nan")), "bias must be 3 finite numbers"),
    (lambda e: e["prior"].update(sd=[1.0, 0.0, 1.0, 1.0]), "prior.sd must be positive"),
    (lambda e: e.update(max_s=1e9), "max_s = 1000000000.0 is invalid"),
    (lambda e: e.update(every_s=True), "every_s = True is invalid"),
])
def test_a_malformed_head_is_refused_by_name(edit, message):
    entry = json.loads(json.dumps(head().to_dict()))
    edit(entry)
    with pytest.raises(BundleError, match=message):
        read_head("my-bundle", {"utterance": entry}, 3, 4)


def test_load_bundle_checks_the_head(tiny_fusion_bundle, tmp_path):
    from ser_convert.manifest import stamp_bundle

    assert load_bundle(tiny_fusion_bundle).utterance is not None
    copy = tmp_path / "b"
    shutil.copytree(tiny_fusion_bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["utterance"]["dims"] = 3
    (copy / "manifest.json").write_text(json.dumps(manifest))
    stamp_bundle(copy)
    with pytest.raises(BundleError, match="dims is 3"):
        load_bundle(copy)


def test_vector_stats_move_from_the_prior_to_the_speaker():
    stats = VectorStats(np.zeros(2), np.ones(2), count=5)
    for _ in range(400):
        stats.update(np.array([10.0, -10.0]))
    assert stats.mean == pytest.approx([10.0, -10.0], abs=0.5)  # the prior fades
    assert stats.count == MAX_COUNT and stats.segments == 400
    again = VectorStats.from_dict(json.loads(json.dumps(stats.to_dict())), 2)
    assert again.mean == pytest.approx(stats.mean) and again.zscore(np.array([10.0, -10.0])) == pytest.approx(
        stats.zscore(np.array([10.0, -10.0])))

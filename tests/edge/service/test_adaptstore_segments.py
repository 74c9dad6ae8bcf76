"""The speaker's segment statistics (a bundle with an utterance head) in the state file: saved with
the frame statistics and restored; a file without them (older) still loads; unusable ones are
dropped with a warning while the frame statistics stay; the decider follows what a load restores;
`ser-edge adapt show` counts them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ser_edge.cli import main
from ser_edge.frontend.functionals import vector_dims
from ser_edge.listen.adapter import Adapter
from ser_edge.listen.utterances import UtteranceDecider
from ser_edge.model.bundle import load_bundle
from ser_edge.model.utterance import UtteranceHead, VectorStats
from ser_edge.service.adaptstore import MAX_BYTES, AdaptStore
from tests.edge.speaker_bundle import make_speaker_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return load_bundle(make_speaker_bundle(tmp_path_factory.mktemp("speaker") / "bundle"))


def _learnt(bundle, segments: int = 5) -> Adapter:
    """An adapter that learnt frames and ``segments`` segment vectors of one synthetic speaker."""
    adapter = Adapter(bundle.params, bundle.prior)
    rng = np.random.default_rng(0)
    adapter.learn(bundle.prior.mean + rng.normal(size=(2000, 30)) * 3 + 1)
    d = vector_dims(bundle.params)
    adapter.segments = VectorStats(np.zeros(d), np.ones(d))
    for _ in range(segments):
        adapter.segments.update(rng.normal(size=d) * 2 + 0.5)
    return adapter


def test_segments_round_trip(bundle, tmp_path: Path):
    store = AdaptStore(tmp_path / "adaptation.json")
    adapter = _learnt(bundle)
    store.save(adapter)
    assert store.path.stat().st_mode & 0o777 == 0o600 and store.path.stat().st_size < MAX_BYTES
    back = Adapter(bundle.params, bundle.prior)
    AdaptStore(store.path).load(back)
    np.testing.assert_array_equal(back.stats.mean, adapter.stats.mean)
    assert back.segments.segments == 5 and back.segments.count == adapter.segments.count
    np.testing.assert_array_equal(back.segments.mean, adapter.segments.mean)
    np.testing.assert_allclose(back.segments.var, adapter.segments.var, rtol=1e-12)
    cleared = Adapter(bundle.params, bundle.prior)  # saved again without them: none on the next load
    store.save(cleared)
    assert "segments" not in json.loads(store.path.read_text())
    AdaptStore(store.path).load(back)
    assert back.segments is None and back.speech_s == 0.0


def test_an_old_file_without_segments_loads(bundle, tmp_path: Path, caplog):
    path = tmp_path / "adaptation.json"
    adapter = _learnt(bundle)
    AdaptStore(path).save(adapter)
    data = json.loads(path.read_text())
    del data["segments"]
    path.write_text(json.dumps(data))
    back = Adapter(bundle.params, bundle.prior)
    note = AdaptStore(path).load(back)
    assert "20 s of speech" in note and back.segments is None and path.exists()
    np.testing.assert_array_equal(back.stats.mean, adapter.stats.mean)
    assert "segment" not in caplog.text


@pytest.mark.parametrize("segments", ["other dims", "not an object", "nan", "negative count"])
def test_unusable_segments_are_dropped_not_the_file(bundle, tmp_path: Path, segments, caplog):
    path = tmp_path / "adaptation.json"
    adapter = _learnt(bundle)
    AdaptStore(path).save(adapter)
    data = json.loads(path.read_text())
    entry = data["segments"]
    if segments == "other dims":
        entry["mean"], entry["sd"] = entry["mean"][:-1], entry["sd"][:-1]
    elif segments == "not an object":
        data["segments"] = [1, 2, 3]
    elif segments == "nan":
        entry["mean"][0] = float("nan")
    else:
        entry["count"] = -1
    path.write_text(json.dumps(data))
    back = Adapter(bundle.params, bundle.prior)
    store = AdaptStore(path)
    store.load(back)
    assert back.segments is None and store.set_aside is None and path.exists()
    np.testing.assert_array_equal(back.stats.mean, adapter.stats.mean)  # the frame statistics are kept
    assert "segment statistics unusable" in caplog.text and "start again from the prior" in caplog.text


def test_the_decider_learns_into_what_a_load_restored(bundle, tmp_path: Path):
    d = vector_dims(bundle.params)
    head = UtteranceHead(np.zeros((7, d)), np.zeros(7), np.zeros(d), np.ones(d))
    adapter = Adapter(bundle.params, bundle.prior)
    decider = UtteranceDecider.for_adapter(head, bundle.params, adapter)
    assert decider.stats is adapter.segments and adapter.segments.segments == 0  # made from the head's prior
    path = tmp_path / "adaptation.json"
    AdaptStore(path).save(_learnt(bundle, segments=3))
    AdaptStore(path).load(adapter)  # (as a listener's sync takes a file changed on disk)
    assert decider.stats is adapter.segments and decider.stats.segments == 3
    adapter.reset()
    assert decider.stats.segments == 0 and decider.stats is adapter.segments


def test_adapt_show_counts_segments(bundle, tmp_path: Path):
    state = tmp_path / "adaptation.json"
    AdaptStore(state).save(_learnt(bundle, segments=4))
    shown = CliRunner().invoke(main, ["adapt", "show", "-m", str(bundle.path), "--state", str(state), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["segments"] == 4
    text = CliRunner().invoke(main, ["adapt", "show", "-m", str(bundle.path), "--state", str(state)])
    assert "segments: 4" in text.output

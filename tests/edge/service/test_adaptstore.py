"""The speaker statistics on disk: round trip, a corrupt file and another model's file set
aside (never trusted), saves at most every interval, and the listener keeping them across a
restart; `ser-edge adapt show | reset | enrol`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ser_edge.frontend.normalise import Prior
from ser_edge.listen.adapter import Adapter
from ser_edge.model.bundle import load_bundle
from ser_edge.service.adaptstore import AdaptStore, default_state_path
from tests.edge.speaker_bundle import make_speaker_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return load_bundle(make_speaker_bundle(tmp_path_factory.mktemp("speaker") / "bundle"))


def _learnt(bundle, seconds: float = 20.0, prior=None) -> Adapter:
    """An adapter that learnt ``seconds`` of one synthetic speaker, from ``prior`` (default: the bundle's)."""
    adapter = Adapter(bundle.params, bundle.prior if prior is None else prior)
    rng = np.random.default_rng(0)
    adapter.learn(bundle.prior.mean + rng.normal(size=(int(seconds * 100), 30)) * 3 + 1)
    return adapter


def test_round_trip(bundle, tmp_path: Path):
    store = AdaptStore(tmp_path / "state" / "adaptation.json")
    adapter = _learnt(bundle)
    store.save(adapter)
    assert not adapter.dirty and [p.name for p in store.path.parent.iterdir()] == ["adaptation.json"]  # no tmp left
    back = Adapter(bundle.params, bundle.prior)
    note = AdaptStore(store.path).load(back)
    assert "20 s of speech" in note
    np.testing.assert_array_equal(back.stats.mean, adapter.stats.mean)
    np.testing.assert_array_equal(back.stats.var, adapter.stats.var)
    assert back.speech_s == adapter.speech_s and back.stats.heard_s == adapter.stats.heard_s
    assert int(back.since) == int(adapter.since)
    assert store.path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format": "something else"}', b"\xff\xfe",
                                     b'{"format": "ser-edge-adaptation", "version": 1}', "truncated"])
def test_a_corrupt_file_is_set_aside(bundle, tmp_path: Path, content, caplog):
    path = tmp_path / "adaptation.json"
    if content == "truncated":
        AdaptStore(path).save(_learnt(bundle))
        content = path.read_bytes()[:-40]
    path.write_bytes(content)
    adapter = Adapter(bundle.params, bundle.prior)
    store = AdaptStore(path)
    note = store.load(adapter)
    assert "set aside" in note and "starting from the prior" in note
    assert not path.exists() and store.set_aside.read_bytes() == content and ".corrupt-" in store.set_aside.name
    assert adapter.stats.heard_s == 0.0 and "set aside" in caplog.text


def test_impossible_statistics_are_not_trusted(bundle, tmp_path: Path):
    path = tmp_path / "adaptation.json"
    AdaptStore(path).save(_learnt(bundle))
    data = json.loads(path.read_text())
    data["stats"]["sum1"][0] = float("nan") if False else 1e400  # json writes Infinity
    path.write_text(json.dumps(data))
    adapter = Adapter(bundle.params, bundle.prior)
    assert "set aside" in AdaptStore(path).load(adapter)
    np.testing.assert_array_equal(adapter.stats.mean, Adapter(bundle.params, bundle.prior).stats.mean)


def test_another_models_file_is_set_aside(bundle, tmp_path: Path):
    path = tmp_path / "adaptation.json"
    AdaptStore(path).save(_learnt(bundle))
    other = bundle.params.replace(adapt_time_constant_s=123.0)
    adapter = Adapter(other, bundle.prior)
    store = AdaptStore(path)
    note = store.load(adapter)
    assert "another model's parameters" in note and adapter.stats.heard_s == 0.0
    assert store.set_aside.name == f"adaptation.json.foreign-{bundle.params.stable_hash()}"
    assert not path.exists()


def test_another_priors_file_keeps_the_speaker_and_takes_this_prior(bundle, tmp_path: Path):
    """Same feature parameters, other prior (the 4-class bundle after the 7-class one): the
    loaded statistics equal the same speech learnt from this bundle's own prior."""
    path = tmp_path / "adaptation.json"
    other = Prior(bundle.prior.mean + 2.0, bundle.prior.var * 3.0, 10, 100.0)
    AdaptStore(path).save(_learnt(bundle, prior=other))
    adapter = Adapter(bundle.params, bundle.prior)
    note = AdaptStore(path).load(adapter)
    assert "another model's prior" in note and path.exists()
    direct = _learnt(bundle)
    np.testing.assert_allclose(adapter.stats.mean, direct.stats.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adapter.stats.var, direct.stats.var, rtol=1e-10, atol=1e-10)
    assert not np.allclose(_learnt(bundle, prior=other).stats.mean, direct.stats.mean)  # the prior still counts
    same = Adapter(bundle.params, bundle.prior)
    AdaptStore(path).save(direct)
    assert "another model's prior" not in AdaptStore(path).load(same)


def test_a_file_without_the_prior_is_taken_as_it_is(bundle, tmp_path: Path):
    path = tmp_path / "adaptation.json"
    AdaptStore(path).save(_learnt(bundle))
    data = json.loads(path.read_text())
    del data["prior"]  # written before the prior was kept in the file
    path.write_text(json.dumps(data))
    adapter = Adapter(bundle.params, bundle.prior)
    assert "20 s of speech" in AdaptStore(path).load(adapter)
    np.testing.assert_array_equal(adapter.stats.mean, _learnt(bundle).stats.mean)


def test_saves_at_most_every_interval(bundle, tmp_path: Path):
    now = [0.0]
    store = AdaptStore(tmp_path / "a.json", save_interval_s=60.0, clock=lambda: now[0])
    adapter = _learnt(bundle)
    assert not store.maybe_save(adapter)  # changed, but only just started
    now[0] = 59.0
    assert not store.maybe_save(adapter)
    now[0] = 60.0
    assert store.maybe_save(adapter) and store.path.exists()
    now[0] = 200.0
    assert not store.maybe_save(adapter)  # nothing new learnt


def test_mode_off_never_reads_or_writes(bundle, tmp_path: Path):
    path = tmp_path / "a.json"
    AdaptStore(path).save(_learnt(bundle))
    before = path.read_bytes()
    adapter = Adapter(bundle.params, bundle.prior, "off")
    AdaptStore(path).load(adapter)
    assert adapter.stats.heard_s == 0.0
    AdaptStore(path).save(adapter)
    assert path.read_bytes() == before


def test_default_path(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/ser-edge")
    assert default_state_path() == Path("/var/lib/ser-edge/adaptation.json")
    assert default_state_path(str(tmp_path / "x.json")) == tmp_path / "x.json"
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_path() == tmp_path / "ser-edge" / "adaptation.json"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ser_edge", *args], capture_output=True, text=True, timeout=120)


def test_listener_keeps_statistics_across_restarts_and_adapt_commands(bundle, data_dir: Path, tmp_path: Path):
    state = tmp_path / "adaptation.json"
    clip = data_dir / "ravdess/Actor_17/03-01-05-02-01-01-17.flac"
    common = ["--model", str(bundle.path), "--adaptation-state", str(state), "--from-wav", str(clip), "-q"]
    first = _cli("listen", *common)
    assert first.returncode == 0, first.stderr
    emotions = [json.loads(line) for line in first.stdout.splitlines() if '"emotion"' in line]
    saved = json.loads(state.read_text())
    heard = saved["stats"]["heard_s"]
    assert heard > 1.0 and all("adapted_s" in e for e in emotions)
    second = _cli("listen", *common)
    assert second.returncode == 0 and json.loads(state.read_text())["stats"]["heard_s"] > 1.9 * heard
    shown = _cli("adapt", "show", "-m", str(bundle.path), "--state", str(state), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["heard_s"] == pytest.approx(2 * heard, abs=0.2)
    enrolled = _cli("adapt", "enrol", str(clip), "-m", str(bundle.path), "--state", str(state), "--json")
    assert json.loads(enrolled.stdout)["heard_s"] == pytest.approx(3 * heard, abs=0.3)
    reset = _cli("adapt", "reset", "-m", str(bundle.path), "--state", str(state), "--json")
    assert json.loads(reset.stdout)["heard_s"] == 0.0 and json.loads(state.read_text())["stats"]["heard_s"] == 0.0
    frozen = _cli("listen", *common, "--adaptation", "frozen")
    assert frozen.returncode == 0 and json.loads(state.read_text())["stats"]["heard_s"] == 0.0
    from tests.edge.golden.make_shipped_scores import OLD_BUNDLE  # a window-normalised bundle

    old = _cli("adapt", "show", "-m", str(OLD_BUNDLE), "--state", str(state))
    assert old.returncode == 78 and "on its own" in old.stderr

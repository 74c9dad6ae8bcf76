"""The statistics file as a file (issue 24): only a regular file is read, set aside or replaced;
the temporary file is unpredictable and opened exclusively; folders are private; a file nested
10,000 deep or holding absurd numbers is set aside; `since` round-trips before year 1000; a
listener takes a file changed on disk (adapt reset) instead of saving over it; one listener
holds the lock."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_edge.listen.adapter import Adapter
from ser_edge.model.bundle import load_bundle
from ser_edge.service.adaptstore import AdaptStore
from ser_edge.service.statefile import StateLock, format_time, parse_time
from tests.edge.speaker_bundle import make_speaker_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return load_bundle(make_speaker_bundle(tmp_path_factory.mktemp("speaker") / "bundle"))


def _learnt(bundle, seconds: float = 20.0) -> Adapter:
    adapter = Adapter(bundle.params, bundle.prior)
    rng = np.random.default_rng(0)
    adapter.learn(bundle.prior.mean + rng.normal(size=(int(seconds * 100), 30)) * 3 + 1)
    return adapter


def _node(tmp_path: Path) -> Path:
    node = tmp_path / "null"  # a private node: never the machine's /dev/null
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


def test_a_device_or_fifo_at_the_path_is_never_read_replaced_or_set_aside(bundle, tmp_path: Path, caplog) -> None:
    node = _node(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "real.json").write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "real.json")
    for path, kind in ((node, "a character device"), (fifo, "a FIFO"), (link, "a symbolic link"),
                       (tmp_path, "a directory")):
        store = AdaptStore(path)
        with pytest.raises(ConfigError, match=f"is {kind}, not a statistics file"):
            store.load(Adapter(bundle.params, bundle.prior))
        with pytest.raises(ConfigError, match=f"is {kind}"):
            store.write(_learnt(bundle))
        assert not store.save(_learnt(bundle)) and f"is {kind}" in caplog.text  # logged, never raised
    assert stat.S_ISCHR(os.lstat(node).st_mode) and os.lstat(node).st_rdev == os.makedev(1, 3)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.path.islink(link)
    assert (tmp_path / "real.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link.json", "null", "real.json"]


def test_the_temporary_file_is_unpredictable_and_never_written_through_a_link(bundle, tmp_path: Path) -> None:
    path = tmp_path / "adaptation.json"
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in (f".adaptation.json.tmp{os.getpid()}", ".adaptation.json.tmp"):
        (tmp_path / name).symlink_to(victim)  # planted where a predictable name would be
    AdaptStore(path).save(_learnt(bundle))
    assert victim.read_text() == "precious" and json.loads(path.read_text())["stats"]["heard_s"] > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_folders_made_for_the_file_are_private_whatever_the_umask(bundle, tmp_path: Path) -> None:
    path = tmp_path / "made" / "state" / "adaptation.json"
    old = os.umask(0)
    try:
        AdaptStore(path).save(_learnt(bundle))
    finally:
        os.umask(old)
    assert [stat.S_IMODE(p.stat().st_mode) for p in (path, path.parent, path.parent.parent)] == [0o600, 0o700, 0o700]


def test_arrays_nested_ten_thousand_deep_are_set_aside(bundle, tmp_path: Path) -> None:
    path = tmp_path / "adaptation.json"
    content = b"[" * 5000 + b"]" * 5000  # 10 KB
    path.write_bytes(content)
    store = AdaptStore(path)
    note = store.load(Adapter(bundle.params, bundle.prior))
    assert "set aside" in note and store.set_aside.read_bytes() == content and not path.exists()


def _with(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("what, change", [
    ("mean", lambda d: d["stats"]["sum1"].__setitem__(0, 1e300)),
    ("mean", lambda d: d["stats"]["sum1"].__setitem__(5, -1e6)),
    ("negative", lambda d: d["stats"].__setitem__("sum2", [0.0] * 30)),
    ("times the prior", lambda d: d["stats"]["sum2"].__setitem__(3, 1e12)),
    ("whole time constant", lambda d: d["stats"].update(weight=1e9, sum1=[v * 1e9 / d["stats"]["weight"]
                                                                         for v in d["stats"]["sum1"]])),
    ("adapt_prior_s", lambda d: d["stats"].update(prior_weight=d["stats"]["weight"])),
    ("ever heard", lambda d: d["stats"].update(heard_s=1.0)),
    ("must be a count", lambda d: d["prior"].update(speakers=[[[[]]]])),
])
def test_absurd_but_finite_statistics_are_set_aside(bundle, tmp_path: Path, what: str, change) -> None:
    path = tmp_path / "adaptation.json"
    AdaptStore(path).save(_learnt(bundle))
    _with(path, change)
    adapter = Adapter(bundle.params, bundle.prior)
    note = AdaptStore(path).load(adapter)
    assert "set aside" in note and what in note and not path.exists()
    assert adapter.stats.heard_s == 0.0


def test_a_real_speaker_far_from_the_prior_still_loads(bundle, tmp_path: Path) -> None:
    """A quiet microphone (c0 many dB down) and a wide voice are plausible."""
    adapter = Adapter(bundle.params, bundle.prior)
    rng = np.random.default_rng(1)
    std = np.sqrt(bundle.prior.var)
    adapter.learn(bundle.prior.mean + std * (10 + 5 * rng.normal(size=(6000, 30))))
    path = tmp_path / "adaptation.json"
    AdaptStore(path).save(adapter)
    note = AdaptStore(path).load(Adapter(bundle.params, bundle.prior))
    assert "57 s of speech" in note and "set aside" not in note  # 60 s, of which 3 s forgotten


@pytest.mark.parametrize("year", [1, 999, 1000, 2026])
def test_since_round_trips_for_any_year(bundle, tmp_path: Path, year: int) -> None:
    t = parse_time(f"{year:04d}-03-04T05:06:07Z")
    assert format_time(t) == f"{year:04d}-03-04T05:06:07Z"
    adapter = _learnt(bundle)
    adapter.since = t
    path = tmp_path / "adaptation.json"
    AdaptStore(path).save(adapter)
    assert json.loads(path.read_text())["since"] == f"{year:04d}-03-04T05:06:07Z"
    back = Adapter(bundle.params, bundle.prior)
    note = AdaptStore(path).load(back)
    assert "set aside" not in note and back.since == t


def test_a_listener_takes_a_file_reset_on_disk_instead_of_saving_over_it(bundle, tmp_path: Path, caplog) -> None:
    path = tmp_path / "adaptation.json"
    listener = AdaptStore(path)
    running = _learnt(bundle)
    listener.save(running)
    reset = Adapter(bundle.params, bundle.prior)
    command = AdaptStore(path)
    command.load(reset)
    command.reset(reset)  # `ser-edge adapt reset` while the listener runs
    running.learn(bundle.prior.mean + np.ones((500, 30)))  # it keeps learning
    with caplog.at_level(logging.INFO):
        listener.sync(running)  # SIGHUP
    assert json.loads(path.read_text())["stats"]["heard_s"] == 0.0  # the reset won
    assert running.stats.heard_s == 0.0 and "changed on disk" in caplog.text
    running.learn(bundle.prior.mean + np.ones((500, 30)))
    listener.sync(running)  # from now on its own saves go through again
    assert json.loads(path.read_text())["stats"]["heard_s"] == pytest.approx(5.0)
    path.unlink()  # deleting the file is a reset too
    listener.sync(running)
    assert running.stats.heard_s == 0.0 and not path.exists()


def test_a_periodic_save_also_notices_a_file_changed_on_disk(bundle, tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "adaptation.json"
    listener = AdaptStore(path, save_interval_s=60.0, clock=lambda: now[0])
    running = _learnt(bundle)
    listener.save(running)
    AdaptStore(path).write(Adapter(bundle.params, bundle.prior))
    now[0] = 61.0
    assert listener.maybe_save(running) and running.stats.heard_s == 0.0  # not dirty, but changed on disk


def test_one_lock_holder_and_it_is_named(tmp_path: Path) -> None:
    first, second = StateLock(tmp_path / "adaptation.json"), StateLock(tmp_path / "adaptation.json")
    assert first.acquire() is None
    assert second.acquire() == f"pid {os.getpid()}"  # flock: two descriptors conflict even in one process
    assert (tmp_path / "adaptation.json.lock").read_text() == f"{os.getpid()}\n"
    first.release()
    assert second.acquire() is None
    second.release()

"""The statistics file from outside (issue 24 items 1, 4, 6, 7, 10, 14, 18): `listen` and `ser-edge
adapt` against a private device node, a file nested 10,000 deep, absurd numbers, an unwritable
folder, umask 000, `adapt reset` then SIGHUP, and two listeners on one file."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest

from ..mosquitto import wait_until
from .conftest import SPEECH_CLIP as CLIP
from .support import SER_EDGE, run, without_dac_override

LIMIT_S = 120


def heard(state: Path) -> float:
    try:
        return json.loads(state.read_text())["stats"]["heard_s"]
    except (OSError, ValueError, KeyError):
        return -1.0


def adapt(verb: str, bundle: Path, state: Path, *extra: str, prefix: tuple = ()) -> "object":
    return run([*prefix, *SER_EDGE, "adapt", verb, *extra, "-m", str(bundle), "--state", str(state), "--json"],
               timeout=LIMIT_S)


def test_a_device_node_as_the_state_file_is_refused_and_left_alone(bundle: Path, data_dir: Path,
                                                                    tmp_path: Path) -> None:
    node = tmp_path / "null"  # a private node: never the machine's /dev/null
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    clip = str(data_dir / CLIP)
    done = [run(SER_EDGE + ["listen", "-q", "-m", str(bundle), "--adaptation-state", str(node), "--from-wav", clip],
                timeout=LIMIT_S),
            adapt("show", bundle, node), adapt("reset", bundle, node), adapt("enrol", bundle, node, clip)]
    for result in done:
        assert result.returncode == 78, result.stderr
        assert f"adaptation_state {node}: is a character device, not a statistics file" in result.stderr
    assert stat.S_ISCHR(os.lstat(node).st_mode) and os.lstat(node).st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]  # nothing set aside, nothing written beside it


@pytest.mark.parametrize("content", ["nested", "absurd"])
def test_a_deep_or_absurd_file_is_set_aside_by_listen_and_adapt_show(bundle: Path, data_dir: Path, tmp_path: Path,
                                                                     content: str) -> None:
    state = tmp_path / "adaptation.json"
    clip = str(data_dir / CLIP)
    assert adapt("enrol", bundle, state, clip).returncode == 0
    if content == "nested":
        state.write_bytes(b"[" * 5000 + b"]" * 5000)
    else:
        data = json.loads(state.read_text())
        data["stats"]["sum1"][0] = 1e300
        state.write_text(json.dumps(data))
    shown = adapt("show", bundle, state)
    assert shown.returncode == 0 and "set aside" in shown.stderr, shown.stderr
    assert json.loads(shown.stdout)["heard_s"] == 0.0 and not state.exists()
    state.write_bytes((tmp_path / next(p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name)).read_bytes())
    listened = run(SER_EDGE + ["listen", "-m", str(bundle), "--adaptation-state", str(state), "--from-wav", clip],
                   timeout=LIMIT_S)
    assert listened.returncode == 0 and "set aside" in listened.stderr, listened.stderr
    assert 0 < heard(state) < 10  # learnt from this clip alone, from the prior


def test_adapt_reset_or_enrol_that_cannot_save_fails(bundle: Path, data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    state = folder / "adaptation.json"
    assert adapt("enrol", bundle, state, str(data_dir / CLIP)).returncode == 0
    before = state.read_bytes()
    folder.chmod(0o555)
    try:  # without CAP_DAC_OVERRIDE, so that root cannot write into it either
        done = [adapt("reset", bundle, state, prefix=tuple(without_dac_override())),
                adapt("enrol", bundle, state, str(data_dir / CLIP), prefix=tuple(without_dac_override()))]
    finally:
        folder.chmod(0o755)
    for result in done:
        assert result.returncode == 78 and result.stdout == "", (result.stdout, result.stderr)
        assert f"adaptation_state {state}: cannot save the statistics (Permission denied)" in result.stderr
    assert state.read_bytes() == before


def test_the_state_folder_is_private_whatever_the_umask(bundle: Path, data_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "made" / "ser-edge" / "adaptation.json"
    done = run(SER_EDGE + ["listen", "-q", "-m", str(bundle), "--adaptation-state", str(state), "--from-wav",
                           str(data_dir / CLIP)], timeout=LIMIT_S, preexec_fn=lambda: os.umask(0))
    assert done.returncode == 0, done.stderr
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (state, state.parent, state.parent.parent)]
    assert modes == [0o600, 0o700, 0o700]
    assert sorted(p.name for p in state.parent.iterdir()) == ["adaptation.json", "adaptation.json.lock"]


def test_adapt_reset_then_sighup_is_not_undone(running, bundle: Path, speech: bytes, tmp_path: Path) -> None:
    state = tmp_path / "adaptation.json"
    listener = running("--stdin", "--no-stdout", "--model", str(bundle), "--adaptation-state", str(state),
                       "--adaptation-save-s", "3600")
    listener.feed_in_background(speech * 200)
    assert listener.log_has("no statistics at", 60), listener.stderr()
    wait_until(lambda: False, 3)  # learn a little
    listener.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: heard(state) > 1.0, 60), listener.stderr()
    reset = adapt("reset", bundle, state)
    assert reset.returncode == 0 and heard(state) == 0.0, reset.stderr
    listener.proc.send_signal(signal.SIGHUP)  # as docs/ADAPTATION.md says
    assert listener.log_has("changed on disk", 60), listener.stderr()
    assert listener.log_has("configuration reloaded", 60) and heard(state) == 0.0  # the reset won


def test_a_second_listener_on_the_same_file_says_who_holds_it_and_never_saves(running, bundle: Path, speech: bytes,
                                                                              tmp_path: Path) -> None:
    state = tmp_path / "adaptation.json"
    common = ["--stdin", "--no-stdout", "--model", str(bundle), "--adaptation-state", str(state)]
    first = running(*common, "--adaptation-save-s", "3600")
    assert first.log_has("no statistics at", 60), first.stderr()
    second = running(*common, "--adaptation-save-s", "1")
    assert second.log_has(f"is in use by another listener (pid {first.proc.pid})", 60), second.stderr()
    second.feed(speech * 3)
    assert second.end(60) == 0  # it ran, learnt and exited without writing
    assert not state.exists()
    first.feed(speech)
    assert first.end(60) == 0 and 0 < heard(state) < 4.0  # the holder saved its own at exit

"""scripts/arm64-check: cheap checks only (the real run needs root, debootstrap and qemu and
takes minutes; see docs/RASPBERRY_PI.md): the script's syntax and usage, and its run_side on this
machine's ser-edge (each listen on fresh speaker statistics)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "arm64-check"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], check=False, capture_output=True, text=True, timeout=30)


def test_is_valid_bash_and_executable():
    assert SCRIPT.stat().st_mode & 0o111, "scripts/arm64-check should be executable"
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)


def test_help_prints_usage_and_exits_0():
    result = run("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: scripts/arm64-check")
    for option in ("--clean", "--cache", "--data", "--tolerance", "--mode"):
        assert option in result.stdout


@pytest.mark.parametrize("args", [("--bogus",), ("--mode", "sideways"), ("--tolerance", "lots")])
def test_bad_arguments_are_usage_errors(args):
    result = run(*args)
    assert result.returncode == 2
    assert "arm64-check:" in result.stderr


def _run_sides(tmp_path: Path, clips: Path, sides: list[str], home: Path) -> subprocess.CompletedProcess:
    """The script's own state_for and run_side (cut out of it), with this machine's ser-edge as the
    runner, one script run over ``sides``."""
    text = SCRIPT.read_text()
    start = text.index("CLIP_NAMES=()")
    end = text.index("\n}\n", text.index("run_side() {")) + 3
    harness = (f'RUN="{tmp_path}/run"\nCLIPS=()\n{text[start:end]}\nCLIP_NAMES=(clip.wav)\n'
               f'ser() {{ "{sys.executable}" -c "from ser_edge.cli import main; main()" "$@"; }}\n'
               + "".join(f'run_side {side} "{clips}" ser\n' for side in sides))
    environ = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / ".local" / "state")}
    environ.pop("SER_EDGE_MODEL", None)
    return subprocess.run(["bash", "-c", harness], capture_output=True, text=True, timeout=600, env=environ)


def test_every_listen_run_starts_from_fresh_speaker_statistics(tmp_path: Path, data_dir: Path) -> None:
    """Issue 24 item 20: a run must not read what an earlier one learnt (in the runner's home or a
    reused cache), so the events of every run and side are the same."""
    from ser_edge.audio.read import load_audio

    from .wavgen import write_wav

    clips, home = tmp_path / "work" / "clips", tmp_path / "home"
    clips.mkdir(parents=True)
    home.mkdir()
    gap = np.zeros(16000, np.float32)
    speech = load_audio(data_dir / "ravdess/Actor_01/03-01-05-02-01-01-01.flac")
    write_wav(clips / "listen.wav", np.concatenate([gap, speech, gap, speech, gap]))
    write_wav(clips / "clip.wav", speech)
    for sides in (["host", "arm64-a"], ["host2"]):  # a second run of the script reuses everything
        done = _run_sides(tmp_path, clips, sides, home)
        assert done.returncode == 0, done.stderr
    runs = {side: _events(tmp_path / "run" / side) for side in ("host", "arm64-a", "host2")}
    for side, events in runs.items():
        status = (tmp_path / "run" / side / "status").read_text()
        assert "listen 0 " in status, (side, status, (tmp_path / "run" / side / "listen.err").read_text())
        assert any(e["type"] == "emotion" for e in events)
    assert runs["host"] == runs["arm64-a"] == runs["host2"]
    assert not list(home.rglob("adaptation.json")), "a run used the runner's own state file"
    assert len(list((tmp_path / "work").glob("state-*/adaptation.json"))) == 3  # one per run and side


def _events(folder: Path) -> list[dict]:
    """listen.jsonl without what differs between machines and runs (as the script compares)."""
    out = []
    for line in (folder / "listen.jsonl").read_text().splitlines():
        event = json.loads(line)
        for key in ("time", "device", "uptime_s", "latency_p50_ms", "latency_p95_ms", "latency_max_ms"):
            event.pop(key, None)
        if isinstance(event.get("extra"), dict):
            event["extra"].pop("rtf", None)
        out.append(event)
    return out

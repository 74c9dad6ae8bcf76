"""FIFOs outside the audio path (issue 24 item 5): a FIFO nobody writes to as the statistics file,
a bundle's manifest.json, the JSONL event file or the configuration file is refused at once with
one line naming it, never a hang. Every child runs with a timeout, so a regression fails."""

from __future__ import annotations

import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ..wavgen import write_wav
from .support import SER_EDGE, run

MODEL = Path(__file__).resolve().parents[2] / "models" / "default"  # speaker-normalised: it adapts
SER_CONVERT = [sys.executable, "-c", "from ser_convert.cli import main; main()"]
#: a hang is a failure: no child may take longer than this, s
LIMIT_S = 60


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    return write_wav(tmp_path / "x.wav", (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)


def _all(cases: dict[str, list[str]]) -> dict:
    with ThreadPoolExecutor(4) as pool:
        done = {name: pool.submit(run, cmd, timeout=LIMIT_S) for name, cmd in cases.items()}
    return {name: future.result() for name, future in done.items()}


def test_a_fifo_as_the_statistics_file(fifo: Path, wav: Path) -> None:
    state = ["-m", str(MODEL), "--state", str(fifo)]
    done = _all({
        "listen": SER_EDGE + ["listen", "-q", "-m", str(MODEL), "--adaptation-state", str(fifo),
                              "--from-wav", str(wav)],
        "show": SER_EDGE + ["adapt", "show", *state],
        "reset": SER_EDGE + ["adapt", "reset", *state],
        "enrol": SER_EDGE + ["adapt", "enrol", str(wav), *state],
    })
    for name, result in done.items():
        assert result.returncode == 78, (name, result.stderr)
        assert f"adaptation_state {fifo}: is a FIFO, not a statistics file" in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr
    assert fifo.is_fifo()


def test_a_fifo_as_the_manifest(tmp_path: Path, wav: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(MODEL, bundle)
    (bundle / "manifest.json").unlink()
    os.mkfifo(bundle / "manifest.json")
    done = _all({
        "classify": SER_EDGE + ["classify", "-q", "-m", str(bundle), str(wav)],
        "listen": SER_EDGE + ["listen", "-q", "-m", str(bundle), "--from-wav", str(wav)],
        "info": SER_EDGE + ["info", str(bundle)],
        "card": SER_CONVERT + ["card", str(bundle)],
    })
    for name, result in done.items():
        assert result.returncode == 78, (name, result.stderr)
        assert f"{bundle}/manifest.json: is a FIFO, not a manifest file" in result.stderr, (name, result.stderr)


def test_a_fifo_as_the_event_file_or_the_configuration(tmp_path: Path, fifo: Path, wav: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[sinks.file]\npath = "{fifo}"\n')
    jsonl = f"cannot open the event file {fifo} for appending: is a FIFO, not a regular file"
    toml = f"{fifo}: is a FIFO, not a configuration file"
    own = ["-q", "--adaptation-state", str(tmp_path / "state.json"), "--from-wav", str(wav)]
    cases = {
        "listen --jsonl": (SER_EDGE + ["listen", "--jsonl", str(fifo), *own], jsonl),
        "config check (jsonl)": (SER_EDGE + ["config", "check", str(config)], jsonl),
        "listen -c": (SER_EDGE + ["listen", "-c", str(fifo), *own], toml),
        "config check": (SER_EDGE + ["config", "check", str(fifo)], toml),
        "adapt show -c": (SER_EDGE + ["adapt", "show", "-c", str(fifo)], toml),
    }
    done = _all({name: cmd for name, (cmd, _) in cases.items()})
    for name, (_, message) in cases.items():
        assert done[name].returncode == 78 and message in done[name].stderr, (name, done[name].stderr)
    assert fifo.is_fifo()

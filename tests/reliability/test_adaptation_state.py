"""The speaker statistics survive a SIGHUP, a kill -9 (as a power cut) and a restart: saved at
SIGHUP, at most every adaptation_save_s while learning, atomically, and loaded at start."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from ..mosquitto import wait_until


def heard(state: Path) -> float:
    try:
        return json.loads(state.read_text())["stats"]["heard_s"]
    except (OSError, ValueError, KeyError):
        return 0.0


def learnt(jsonl: Path) -> float:
    """The last status event's adapted_s, s (0 before the first)."""
    lines = jsonl.read_text().splitlines() if jsonl.exists() else []
    status = [json.loads(x) for x in lines[:-1] if '"status"' in x]  # the last line may be half written
    return status[-1]["extra"].get("adapted_s", 0.0) if status else 0.0


def test_sighup_saves_and_a_kill_loses_at_most_the_save_interval(running, speech: bytes, bundle: Path,
                                                                 tmp_path: Path) -> None:
    state = tmp_path / "state" / "adaptation.json"
    common = ["--stdin", "--no-stdout", "--model", str(bundle), "--adaptation-state", str(state)]
    jsonl = tmp_path / "events.jsonl"
    listener = running(*common, "--adaptation-save-s", "3600", "--jsonl", str(jsonl), "--status-interval", "0.5")
    listener.feed_in_background(speech * 200)  # longer than the test: it must not reach the end and exit
    assert listener.log_has("no statistics at", 60), listener.stderr()
    assert wait_until(lambda: learnt(jsonl) > 2.0, 60), listener.stderr()  # status events say what it learnt
    assert not state.exists()  # no periodic save yet
    listener.proc.send_signal(signal.SIGHUP)
    assert listener.log_has("configuration reloaded", 60), listener.stderr()
    assert wait_until(lambda: heard(state) > 1.0, 30), (learnt(jsonl), listener.stderr())
    listener.proc.kill()  # as a power cut: no chance to save again
    listener.proc.wait(10)
    saved = heard(state)
    assert sorted(p.name for p in state.parent.iterdir()) == ["adaptation.json", "adaptation.json.lock"]  # no temporary

    again = running(*common, "--adaptation-save-s", "1")
    assert again.log_has("statistics from", 60), again.stderr()
    again.feed_in_background(speech * 30)
    assert wait_until(lambda: heard(state) > saved + 1.0, 60), (saved, heard(state), again.stderr())  # periodic saves, from the loaded ones
    again.proc.kill()
    again.proc.wait(10)
    assert heard(state) > saved

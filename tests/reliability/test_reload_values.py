"""A SIGHUP reload of a file whose values no path or header can hold (issue 24 item 2): refused
with one line, the old settings keep running, and SIGTERM still ends with a final status event
(exit 0). The same files at start: tests/edge/config/test_config_values.py (exit status 78)."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

from ..edge.config.test_config_values import BAD
from ..mosquitto import wait_until

RATE = 16000


def test_reloads_of_unusable_values_are_refused_and_the_listener_keeps_running(running, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    good = f'status_interval_s = 0.5\nadaptation_state = "{tmp_path / "state.json"}"\n' \
           f'[sinks.file]\npath = "{events}"\n'
    config = tmp_path / "config.toml"
    config.write_text(good)
    listener = running("--config", str(config), "--stdin")
    done = threading.Event()

    def feed() -> None:  # silence, twice as fast as real time, until the test ends
        while not done.wait(0.05):
            try:
                listener.feed(bytes(2 * RATE // 10))
            except (OSError, ValueError):
                return
    threading.Thread(target=feed, daemon=True).start()
    assert listener.log_has("listening:"), listener.stderr()
    for n, name in enumerate(sorted(BAD), start=1):
        config.write_text(BAD[name][0])
        listener.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: listener.stderr().count("reload failed, keeping the running") >= n, 30), \
            (name, listener.stderr())
        assert listener.proc.poll() is None, (name, listener.stderr())
    assert "Traceback" not in listener.stderr()
    seen = len(events.read_text().splitlines())
    assert wait_until(lambda: len(events.read_text().splitlines()) > seen + 1, 10)  # the old sinks still write
    done.set()
    listener.proc.send_signal(signal.SIGTERM)
    assert listener.proc.wait(10) == 0, listener.stderr()
    time.sleep(0.1)
    last = json.loads(events.read_text().splitlines()[-1])
    assert last["type"] == "status"  # the final status event went out

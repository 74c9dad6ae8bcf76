"""Shutdown (issue 15 items 6 and 7): one budget below the unit's TimeoutStopSec shared by every
sink, a second signal ends at once, a blocked stdout cannot hold it, the log and the final
status tell the truth about what was lost, and a SIGHUP during start-up does not kill it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ser_edge.service.shutdown import SHUTDOWN_BUDGET_S
from ser_edge.sinks.spool_disk import DiskSpool

from ..mosquitto import HOST, free_port, wait_until

pytest.importorskip("paho.mqtt.client", reason="paho-mqtt not installed (pip install 'ser-edge[mqtt]')")

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "ser-edge.service"


def quiet_audio(seconds: float) -> bytes:
    """Low noise as s16le at 16 kHz: no speech, so only status events."""
    noise = np.random.default_rng(7).normal(0, 0.001, int(16000 * seconds))
    return (noise * 32767).astype("<i2").tobytes()


def events_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def down_broker() -> list[str]:
    return ["--mqtt-host", HOST, "--mqtt-port", str(free_port()), "--mqtt-reconnect-max-s", "1"]


@pytest.fixture
def hanging_server():
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    server = socket.create_server((HOST, 0), backlog=64)
    yield f"http://{HOST}:{server.getsockname()[1]}/hook"
    server.close()


def slow_sinks(url: str, jsonl: Path) -> list[str]:
    """Three sinks whose own close timeouts add up to three minutes, each stuck in a delivery."""
    return ["--stdin", "--no-stdout", "--status-interval", "0.5", "--jsonl", str(jsonl),
            "--webhook-url", url, "--webhook-timeout-s", "100", "--webhook-close-timeout-s", "60",
            "--webhook-event-types", "status",
            "--command", f"{sys.executable} -c 'import time; time.sleep(100)'", "--command-timeout-s", "300",
            "--command-close-timeout-s", "60", "--command-event-types", "status",
            *down_broker(), "--mqtt-flush-timeout-s", "60"]


def test_the_budget_is_below_the_units_stop_timeout() -> None:
    stop = float(re.search(r"^TimeoutStopSec=(\d+)", UNIT.read_text(), re.M).group(1))
    assert SHUTDOWN_BUDGET_S <= stop - 3


def test_one_budget_bounds_the_whole_shutdown_and_the_log_counts_the_loss(running, hanging_server: str,
                                                                          tmp_path: Path) -> None:
    jsonl = tmp_path / "events.jsonl"
    listener = running(*slow_sinks(hanging_server, jsonl))
    assert listener.log_has("listening:"), listener.stderr()
    listener.feed_in_background(quiet_audio(600))
    assert wait_until(lambda: len(events_of(jsonl)) >= 4, 30)
    started = time.monotonic()
    listener.proc.send_signal(signal.SIGTERM)
    code = listener.proc.wait(SHUTDOWN_BUDGET_S + 20)
    elapsed = time.monotonic() - started
    assert elapsed < SHUTDOWN_BUDGET_S + 2, f"took {elapsed:.1f} s"
    assert code == 0, listener.stderr()
    assert events_of(jsonl)[-1]["type"] == "status"  # the final status still went out
    log = listener.stderr()
    assert re.search(r"shutdown: \d+ event\(s\) lost", log), log[-3000:]
    assert "kept" not in log


def test_a_second_signal_ends_at_once(running, hanging_server: str, tmp_path: Path) -> None:
    jsonl = tmp_path / "events.jsonl"
    listener = running(*slow_sinks(hanging_server, jsonl))
    assert listener.log_has("listening:"), listener.stderr()
    listener.feed_in_background(quiet_audio(600))
    assert wait_until(lambda: len(events_of(jsonl)) >= 4, 30)
    listener.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)  # into the shutdown: the sinks are closing
    assert listener.proc.poll() is None
    started = time.monotonic()
    listener.proc.send_signal(signal.SIGINT)
    code = listener.proc.wait(SHUTDOWN_BUDGET_S + 20)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"took {elapsed:.1f} s after the second signal"
    assert code == 128 + signal.SIGINT, listener.stderr()
    assert listener.log_has("second signal"), listener.stderr()


def test_sigterm_ends_it_within_the_budget_while_stdout_is_blocked(running, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # nobody reads: the stdout sink blocks once the pipe is full
    try:
        listener = running("--stdin", "--status-interval", "0.01", stdout=write_end)
        os.close(write_end)
        assert listener.log_has("listening:"), listener.stderr()
        listener.feed_in_background(quiet_audio(600))
        time.sleep(3)
        assert listener.proc.poll() is None
        started = time.monotonic()
        listener.proc.send_signal(signal.SIGTERM)
        code = listener.proc.wait(SHUTDOWN_BUDGET_S + 20)
        elapsed = time.monotonic() - started
        assert elapsed < SHUTDOWN_BUDGET_S + 2, f"took {elapsed:.1f} s"
        assert code == 128 + signal.SIGTERM
        assert listener.log_has("shutdown budget"), listener.stderr()
    finally:
        os.close(read_end)


def test_a_memory_spool_says_its_events_are_lost_not_kept(running, tmp_path: Path) -> None:
    jsonl = tmp_path / "events.jsonl"
    listener = running("--stdin", "--no-stdout", "--status-interval", "0.5", "--jsonl", str(jsonl), *down_broker())
    assert listener.log_has("listening:"), listener.stderr()
    listener.feed(quiet_audio(5))
    assert listener.end() == 0, listener.stderr()
    n, log = len(events_of(jsonl)), listener.stderr()
    assert n >= 10
    assert "kept" not in log, log
    assert re.search(rf"mqtt spool: {n} event\(s\) lost", log), log
    assert re.search(rf"shutdown: {n} event\(s\) lost", log), log


def test_the_final_status_counts_every_event_the_full_spool_dropped(running, tmp_path: Path) -> None:
    jsonl, spool = tmp_path / "events.jsonl", tmp_path / "spool"
    listener = running("--stdin", "--no-stdout", "--status-interval", "0.2", "--jsonl", str(jsonl),
                       "--spool-dir", str(spool), "--spool-max-events", "10", *down_broker())
    assert listener.log_has("listening:"), listener.stderr()
    listener.feed(quiet_audio(8))
    assert listener.end() == 0, listener.stderr()
    events = events_of(jsonl)
    kept = DiskSpool(spool / "mqtt", max_events=10, max_bytes=1 << 20)
    waiting = [json.loads(p)["seq"] for _, p in kept.take(100)]
    kept.close()
    assert waiting == [e["seq"] for e in events[-10:]]  # the newest ten wait for the broker
    final = events[-1]
    assert final["type"] == "status" and final["extra"]["spool_dropped"] == len(events) - 10
    assert final["extra"]["sink_failures"] == len(events) - 10


def test_sighup_during_start_up_does_not_kill_it(running, tmp_path: Path) -> None:
    """Start-up waits 2 s for the (absent) broker: the SIGHUP lands before the main loop runs."""
    listener = running("--stdin", "--no-stdout", *down_broker())
    assert listener.log_has("MQTT sink: broker"), listener.stderr()
    listener.proc.send_signal(signal.SIGHUP)
    assert listener.log_has("listening:", 10), f"exit {listener.proc.poll()}: {listener.stderr()}"
    assert listener.proc.poll() is None
    listener.feed(quiet_audio(1))
    assert listener.end() == 0, listener.stderr()

"""SIGTERM in the middle of work flushes the sinks and exits 0 within 2 s; SIGHUP that rebuilds
the outputs while the broker is away loses nothing; a stalled loop stops feeding the watchdog.

(test_listen_e2e.py covers SIGTERM with stdout, SIGHUP of other settings, and a stalled source.)
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio

from ..mosquitto import HOST, Broker, wait_until
from ..notify_socket import NotifySocket
from .support import DurableSubscriber, env, first_seen

pytest.importorskip("paho.mqtt.client", reason="paho-mqtt not installed (pip install 'ser-edge[mqtt]')")

CLIP = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> bytes:
    x = np.concatenate([load_audio(data_dir / CLIP), np.zeros(16000, np.float32)])
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def truth(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().split("\n")[:-1]] if path.exists() else []


def test_sigterm_mid_stream_delivers_everything_to_mqtt_and_exits_0_within_2_s(running, speech: bytes,
                                                                              tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    device, jsonl = f"term-{uuid.uuid4().hex[:6]}", tmp_path / "events.jsonl"
    sub = DurableSubscriber(broker.port, f"ser-edge/{device}/#")
    try:
        listener = running("--stdin", "--no-stdout", "--device-name", device, "--mqtt-host", HOST,
                           "--mqtt-port", str(broker.port), "--status-interval", "0.5", "--jsonl", str(jsonl))
        assert listener.log_has("MQTT connected"), listener.stderr()
        listener.feed_in_background(speech * 20)  # keeps it busy
        assert wait_until(lambda: len(truth(jsonl)) > 20, 30)
        started = time.monotonic()
        listener.proc.send_signal(signal.SIGTERM)
        code = listener.proc.wait(5)
        elapsed = time.monotonic() - started
        assert code == 0 and elapsed < 2.0, f"exit {code} after {elapsed:.2f} s"
        events = truth(jsonl)
        assert events[-1]["type"] == "status"  # the final status went out too
        assert wait_until(lambda: sub.got(f"ser-edge/{device}/availability")[-1:] == ["offline"], 10)
        got = [json.loads(p) for p in first_seen(sub.got(f"ser-edge/{device}/event"))]
        assert got == events
        last = sub.messages.index((f"ser-edge/{device}/availability", "offline"))
        assert all(topic.endswith("/availability") for topic, _ in sub.messages[last:])  # events came first
    finally:
        sub.close()
        broker.stop()


def test_sighup_rebuilding_the_outputs_while_the_broker_is_down_loses_nothing(running, speech: bytes,
                                                                            tmp_path: Path) -> None:
    broker = Broker(tmp_path, persistent=True)
    broker.stop()
    device, jsonl, config = f"hup-{uuid.uuid4().hex[:6]}", tmp_path / "events.jsonl", tmp_path / "config.toml"
    sink = f'[sinks.mqtt]\nhost = "{HOST}"\nport = {broker.port}\nreconnect_max_s = 1.0\nflush_timeout_s = 10.0\n'
    config.write_text(f"status_interval_s = 1\n{sink}topic_prefix = \"before\"\n")
    listener = running("--config", str(config), "--stdin", "--no-stdout", "--device-name", device,
                       "--jsonl", str(jsonl))
    assert listener.log_has("listening:"), listener.stderr()
    listener.feed(speech)
    assert wait_until(lambda: len(truth(jsonl)) >= 5, 30)
    config.write_text(f"status_interval_s = 1\n{sink}topic_prefix = \"after\"\n")
    listener.proc.send_signal(signal.SIGHUP)
    assert listener.log_has("changed: sinks"), listener.stderr()
    listener.feed(speech)
    broker.start()
    sub = DurableSubscriber(broker.port, f"+/{device}/event")
    try:
        assert listener.log_has("MQTT connected")
        assert listener.end() == 0, listener.stderr()
        events = truth(jsonl)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # one sequence across the reload
        got = [json.loads(p) for p in first_seen(sub.wait(len(events)))]
        assert got == events  # those made before the reload were handed to the new MQTT client
    finally:
        sub.close()
        broker.stop()


def test_a_stalled_loop_stops_the_watchdog_pings_and_they_resume_after(running, speech: bytes,
                                                                      tmp_path: Path) -> None:
    """stdout is a pipe nobody reads: once it is full, the loop blocks in the stdout sink (a stall)."""
    notify = NotifySocket(tmp_path / "notify.sock")
    read_end, write_end = os.pipe()
    try:
        environ = env(NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="200000")  # a ping every 0.1 s
        listener = running("--stdin", "--status-interval", "0.01", "-q", environ=environ, stdout=write_end)
        os.close(write_end)
        assert wait_until(lambda: any(m.startswith("READY=1") for _, m in notify.messages), 30)
        listener.feed_in_background(speech * 50)
        assert wait_until(lambda: notify.pings(), 10)
        assert wait_until(lambda: notify.pings() and time.monotonic() - notify.pings()[-1] > 2.0, 30), \
            "the pings went on although the loop could not write"
        assert listener.proc.poll() is None  # alive, but stuck: systemd would kill and restart it
        stalled_at = len(notify.pings())
        threading.Thread(target=lambda: [None for _ in iter(lambda: os.read(read_end, 65536), b"")],
                         daemon=True).start()  # unblock
        assert wait_until(lambda: len(notify.pings()) > stalled_at + 3, 10), "no pings after the stall ended"
    finally:
        notify.close()
        listener.stop()
        os.close(read_end)

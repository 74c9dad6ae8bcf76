"""No event is lost when the MQTT broker or the web server goes away, even across a restart of
ser-edge: `ser-edge listen` against a real mosquitto and a real HTTP server, audio on stdin.

Every test also writes the events to a JSONL file (a sink that cannot fail), the truth the
receivers are compared with: same events, same order, same seq and time. QoS 1 and webhook
retries are at-least-once, so receivers are compared by first appearance.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ser_edge.audio.read import load_audio

from ..mosquitto import HOST, Broker, free_port, wait_until
from .support import DurableSubscriber, first_seen

pytest.importorskip("paho.mqtt.client", reason="paho-mqtt not installed (pip install 'ser-edge[mqtt]')")

CLIPS = ["ravdess/Actor_01/03-01-05-02-01-01-01.flac", "ravdess/Actor_01/03-01-01-01-01-01-01.flac"]


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> bytes:
    """Two utterances with a second of silence after each, as s16le at 16 kHz (about 10 s)."""
    parts = []
    for clip in CLIPS:
        parts += [load_audio(data_dir / clip), np.zeros(16000, np.float32)]
    return (np.clip(np.concatenate(parts), -1, 1) * 32767).astype("<i2").tobytes()


def truth(path: Path) -> list[dict]:
    """The events of a JSONL sink's file so far (a line still being written is left out)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().split("\n")[:-1]]


def mqtt_args(broker: Broker, device: str, jsonl: Path, *extra: str) -> list[str]:
    return ["--stdin", "--no-stdout", "--device-name", device, "--mqtt-host", HOST, "--mqtt-port", str(broker.port),
            "--mqtt-reconnect-max-s", "1", "--mqtt-flush-timeout-s", "10", "--status-interval", "2",
            "--jsonl", str(jsonl), *extra]


def test_broker_stopped_and_restarted_during_listen_loses_nothing(running, speech: bytes, tmp_path: Path) -> None:
    broker = Broker(tmp_path, persistent=True)
    device, jsonl = f"outage-{uuid.uuid4().hex[:6]}", tmp_path / "events.jsonl"
    sub = DurableSubscriber(broker.port, f"ser-edge/{device}/event")
    try:
        listener = running(*mqtt_args(broker, device, jsonl))
        assert listener.log_has("MQTT connected"), listener.stderr()
        listener.feed(speech)
        assert sub.wait(3), listener.stderr()  # delivered while the broker is up
        broker.stop()
        assert listener.log_has("MQTT connection to"), listener.stderr()
        before = len(truth(jsonl))
        listener.feed(speech * 2)  # events made while the broker is down
        assert wait_until(lambda: len(truth(jsonl)) > before + 5, 30)
        broker.start()  # the same port
        assert wait_until(lambda: sum("MQTT connected" in line for line in listener.err) == 2, 30)
        listener.feed(speech)
        assert listener.end() == 0, listener.stderr()
        events = truth(jsonl)
        got = [json.loads(p) for p in first_seen(sub.wait(len(events)))]
        assert got == events  # all, in order, original seq and time
        assert [e["seq"] for e in got] == list(range(1, len(events) + 1))
    finally:
        sub.close()
        broker.stop()


def test_events_wait_on_disk_across_a_restart_of_ser_edge(running, speech: bytes, tmp_path: Path) -> None:
    broker = Broker(tmp_path, persistent=True)
    broker.stop()  # down from the start
    device, spool = f"restart-{uuid.uuid4().hex[:6]}", tmp_path / "spool"
    first = running(*mqtt_args(broker, device, tmp_path / "first.jsonl", "--spool-dir", str(spool),
                               "--mqtt-flush-timeout-s", "1"))
    first.feed(speech)
    assert first.end() == 0, first.stderr()
    assert first.log_has("kept in the spool")
    before = truth(tmp_path / "first.jsonl")
    assert before and list((spool / "mqtt").glob("*.jsonl"))  # waiting on disk
    broker.start()
    sub = DurableSubscriber(broker.port, f"ser-edge/{device}/event")
    try:
        second = running(*mqtt_args(broker, device, tmp_path / "second.jsonl", "--spool-dir", str(spool)))
        assert second.log_has("event(s) from before wait for delivery"), second.stderr()
        assert sub.wait(len(before)), second.stderr()  # replayed at start, before any new audio
        second.feed(speech)
        assert second.end() == 0, second.stderr()
        after = truth(tmp_path / "second.jsonl")
        got = [json.loads(p) for p in first_seen(sub.wait(len(before) + len(after)))]
        assert got == before + after  # the first run's events first, with their own seq and time
        assert not list((spool / "mqtt").glob("*.jsonl"))  # acknowledged: deleted
    finally:
        sub.close()
        broker.stop()


def test_full_spool_drops_the_oldest_and_a_status_event_says_how_many(running, speech: bytes,
                                                                        tmp_path: Path) -> None:
    broker = Broker(tmp_path, persistent=True)
    broker.stop()
    device, jsonl = f"bound-{uuid.uuid4().hex[:6]}", tmp_path / "events.jsonl"
    listener = running(*mqtt_args(broker, device, jsonl, "--spool-max-events", "10", "--status-interval", "1"))
    listener.feed(speech * 2)
    assert wait_until(lambda: len(truth(jsonl)) > 20, 30)
    assert listener.log_has("mqtt spool full (10 events")
    broker.start()
    sub = DurableSubscriber(broker.port, f"ser-edge/{device}/event")
    try:
        assert len(set(sub.wait(10))) == 10, listener.stderr()
        assert listener.end() == 0, listener.stderr()
        events = truth(jsonl)
        dropped = len(events) - 11  # the newest ten waited; the final status came after the reconnect
        got = [json.loads(p) for p in first_seen(sub.wait(11))]
        assert got == events[dropped:]
        final = events[-1]
        assert final["type"] == "status" and final["extra"]["spool_dropped"] == dropped > 0
        assert final["extra"]["sink_failures"] == dropped
    finally:
        sub.close()
        broker.stop()


class FlakyServer:
    """An HTTP server on a fixed port that answers 503, is down (refused), or takes events."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[str] = []
        self.failing = False
        self.server: Any = None
        self.start()

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if not owner.failing:
                    owner.bodies.append(body)
                self.send_response(503 if owner.failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"


def webhook_args(server: FlakyServer, jsonl: Path, *extra: str) -> list[str]:
    return ["--stdin", "--no-stdout", "--webhook-url", server.url, "--webhook-backoff-max-s", "0.5",
            "--webhook-event-types", "emotion,speech_start,speech_end,status", "--webhook-close-timeout-s", "10",
            "--status-interval", "2", "--jsonl", str(jsonl), *extra]


def test_webhook_server_failing_down_and_back_loses_nothing(running, speech: bytes, tmp_path: Path) -> None:
    server, jsonl = FlakyServer(), tmp_path / "events.jsonl"
    try:
        listener = running(*webhook_args(server, jsonl))
        listener.feed(speech)
        assert wait_until(lambda: len(server.bodies) >= 3, 30), listener.stderr()
        server.failing = True  # 503: retried
        listener.feed(speech)
        assert listener.log_has("webhook sink failing: POST")
        server.stop()  # refused: retried too
        listener.feed(speech)
        server.failing = False
        server.start()
        assert listener.end() == 0, listener.stderr()
        assert listener.log_has("webhook sink recovered")
        assert [json.loads(b) for b in first_seen(server.bodies)] == truth(jsonl)
    finally:
        server.stop()


def test_webhook_events_wait_on_disk_across_a_restart(running, speech: bytes, tmp_path: Path) -> None:
    server, spool = FlakyServer(), tmp_path / "spool"
    server.failing = True
    try:
        first = running(*webhook_args(server, tmp_path / "first.jsonl", "--spool-dir", str(spool),
                                      "--webhook-close-timeout-s", "0.5"))
        first.feed(speech)
        assert first.end() == 0, first.stderr()
        assert first.log_has("kept in the spool") and list((spool / "webhook").glob("*.jsonl"))
        server.failing = False
        second = running(*webhook_args(server, tmp_path / "second.jsonl", "--spool-dir", str(spool)))
        second.feed(speech)
        assert second.end() == 0, second.stderr()
        expected = truth(tmp_path / "first.jsonl") + truth(tmp_path / "second.jsonl")
        assert [json.loads(b) for b in first_seen(server.bodies)] == expected
    finally:
        server.stop()

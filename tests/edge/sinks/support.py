"""Helpers for the sink tests: loopback ports, polling, a mosquitto process, a subscriber."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, List

import pytest

from ser_edge.events import EmotionEvent, EventFactory

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback TCP port that nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout_s: float = 5.0, step_s: float = 0.01) -> Any:
    """Poll `predicate` until it is truthy; its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step_s)


def emotion(factory: EventFactory, label: str = "happy", start_s: float = 0.0) -> EmotionEvent:
    scores = {"neutral": 0.1, "happy": 0.1, "sad": 0.1, "angry": 0.1}
    scores[label] = 0.7
    return factory.emotion(label=label, confidence=0.7, scores=scores, start_s=start_s, end_s=start_s + 2.0)


def start_mosquitto(tmp: Path, port: int) -> subprocess.Popen:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        pytest.skip("mosquitto broker not installed (apt-get install mosquitto mosquitto-clients)")
    conf = tmp / f"mosquitto-{port}.conf"
    conf.write_text(f"listener {port} {HOST}\nallow_anonymous true\npersistence false\n")
    log = open(tmp / f"mosquitto-{port}.log", "wb")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    if not wait_until(lambda: _accepts(port) or proc.poll() is not None, 5.0) or proc.poll() is not None:
        proc.kill()
        pytest.fail(f"mosquitto did not start on {HOST}:{port}; see {tmp}")
    return proc


def _accepts(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.2).close()
        return True
    except OSError:
        return False


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Subscriber:
    """A paho client that records (topic, payload, qos, retain) of what it receives."""

    def __init__(self, port: int, topics: List[str]) -> None:
        mqtt = pytest.importorskip("paho.mqtt.client")
        self.messages: List[tuple] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = (lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])) if topics \
            else (lambda *args: subscribed.set())
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(HOST, port, keepalive=10)
        self.client.loop_start()
        if not subscribed.wait(5):
            raise RuntimeError("test subscriber could not subscribe")

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode(), msg.qos, bool(msg.retain)))

    def on(self, topic: str) -> List[tuple]:
        with self._lock:
            return [m for m in self.messages if m[0] == topic]

    def wait(self, topic: str, count: int = 1, timeout_s: float = 5.0) -> List[tuple]:
        """The messages on `topic` once there are at least `count` (fewer on timeout)."""
        wait_until(lambda: len(self.on(topic)) >= count, timeout_s)
        return self.on(topic)

    def payloads(self, topic: str) -> List[str]:
        return [m[1] for m in self.on(topic)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class TcpGate:
    """A loopback TCP relay to `upstream_port` that can refuse or cut connections.

    A broker outage on demand: while closed, connections are accepted and
    dropped at once; `cut()` also breaks the relayed ones.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.is_open = False
        self._server = socket.create_server((HOST, 0))
        self.port = self._server.getsockname()[1]
        self._conns: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.is_open:
                client.close()
                continue
            upstream = socket.create_connection((HOST, self.upstream_port))
            self._conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.is_open = False
        for sock in self._conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._conns.clear()

    def close(self) -> None:
        self._server.close()
        self.cut()

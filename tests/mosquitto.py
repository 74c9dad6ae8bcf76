"""Real MQTT parts shared by the sink, end-to-end and reliability tests: loopback ports,
polling, a mosquitto broker that can be stopped and started again, and a subscribing client."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

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


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback `port`."""
    try:
        socket.create_connection((HOST, port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Broker:
    """A mosquitto on a fixed loopback port that can be stopped and started again.

    persistent: sessions (a subscriber's queue) survive a restart; password_file: only those
    users may connect; tls: (cafile, certfile, keyfile) for a TLS listener.
    """

    def __init__(self, folder: Path, *, port: Optional[int] = None, persistent: bool = False,
                 password_file: Optional[Path] = None, tls: Optional[tuple[Path, Path, Path]] = None) -> None:
        self.binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
        if self.binary is None:
            pytest.skip("mosquitto broker not installed (apt-get install mosquitto mosquitto-clients)")
        self.folder, self.port = folder, port or free_port()
        lines = [f"listener {self.port} {HOST}", f"allow_anonymous {'false' if password_file else 'true'}"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it reads its files as user mosquitto, and pytest's are 0700 root
        if password_file:
            lines.append(f"password_file {password_file}")
        if tls:
            lines += [f"cafile {tls[0]}", f"certfile {tls[1]}", f"keyfile {tls[2]}"]
        if persistent:
            lines += ["persistence true", f"persistence_location {folder}/", "autosave_interval 1"]
        else:
            lines.append("persistence false")
        self.conf = folder / f"mosquitto-{self.port}.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        log = open(self.folder / f"mosquitto-{self.port}.log", "ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not wait_until(lambda: accepts(self.port) or self.proc.poll() is not None, 10.0) or \
                self.proc.poll() is not None:
            pytest.fail(f"mosquitto did not start on {HOST}:{self.port}; see {self.folder}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def subscribed_client(port: int, topics: list[str], on_message: Callable[..., None], *, durable: bool = False,
                      auth: Optional[tuple[str, str]] = None, ca_file: Optional[Path] = None,
                      timeout_s: float = 10.0) -> Any:
    """A running paho client subscribed (QoS 1) to `topics` (none: just connected).

    durable: a persistent session (a broker restart loses nothing for it) that reconnects by itself.
    """
    mqtt = pytest.importorskip("paho.mqtt.client")
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{uuid.uuid4().hex[:8]}",
                         clean_session=not durable)
    if durable:
        client.reconnect_delay_set(0.1, 0.5)
    if auth:
        client.username_pw_set(*auth)
    if ca_file:
        client.tls_set(ca_certs=str(ca_file))
    client.on_connect = (lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])) if topics \
        else (lambda *args: ready.set())
    client.on_subscribe = lambda *args: ready.set()
    client.on_message = on_message
    client.connect(HOST, port, keepalive=10)
    client.loop_start()
    if not ready.wait(timeout_s):
        raise RuntimeError("test subscriber could not subscribe")
    return client

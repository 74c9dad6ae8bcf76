"""Helpers for the reliability tests: the real CLIs as subprocesses, and mosquitto brokers
configured as a test needs (persistent sessions, a password file, TLS), restartable on one port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import pytest

from ..edge.sinks.support import HOST, free_port, wait_until

SER_EDGE = [sys.executable, "-c", "from ser_edge.cli import main; main()"]
SER_TRAIN = [sys.executable, "-c", "from ser_train.cli import main; main()"]
RATE = 16000


def env(**extra: str) -> dict:
    """The environment for a child: no proxies (loopback), plus ``extra``."""
    out = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    out.update(extra)
    return out


def without_dac_override() -> list[str]:
    """A prefix that runs a command without the capabilities that let root read any file."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root: setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def run(cmd: list[str], *, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess:
    kwargs.setdefault("env", env())
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


class Listener:
    """`ser-edge listen` as a child; stdout and stderr lines collected as they come, stdin a pipe."""

    def __init__(self, *args: str, environ: Optional[dict] = None, stdout: Any = subprocess.PIPE) -> None:
        self.proc = subprocess.Popen(SER_EDGE + ["listen", *args], stdin=subprocess.PIPE, stdout=stdout,
                                     stderr=subprocess.PIPE, env=environ or env())
        self.out: list[str] = []
        self.err: list[str] = []
        streams = [(self.proc.stderr, self.err)] + ([(self.proc.stdout, self.out)] if self.proc.stdout else [])
        for stream, lines in streams:
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _collect(stream: Any, lines: list) -> None:
        for line in iter(stream.readline, b""):
            lines.append(line.decode("utf-8", "replace"))

    def log_has(self, text: str, timeout_s: float = 30.0) -> bool:
        return bool(wait_until(lambda: any(text in line for line in self.err), timeout_s, 0.02))

    def feed(self, pcm: bytes, *, chunk: int = 32000) -> None:
        """Write s16le audio to its stdin (blocks while the pipe is full)."""
        for i in range(0, len(pcm), chunk):
            self.proc.stdin.write(pcm[i: i + chunk])  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]

    def feed_in_background(self, pcm: bytes) -> None:
        """`feed` on a thread that ends quietly when the listener exits or stdin closes."""
        def feed() -> None:
            try:
                self.feed(pcm)
            except (OSError, ValueError):
                pass
        threading.Thread(target=feed, daemon=True).start()

    def end(self, timeout_s: float = 30.0) -> int:
        """Close its stdin (end of stream) and wait for the exit status."""
        self.proc.stdin.close()  # type: ignore[union-attr]
        return self.proc.wait(timeout_s)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def stderr(self) -> str:
        return "".join(self.err)


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
        if not wait_until(lambda: _accepts(self.port) or self.proc.poll() is not None, 10.0) or \
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


def _accepts(port: int) -> bool:
    import socket

    try:
        socket.create_connection((HOST, port), timeout=0.2).close()
        return True
    except OSError:
        return False


class DurableSubscriber:
    """A paho subscriber with a persistent session (QoS 1), so that a broker restart loses nothing
    for it; records payloads per topic and reconnects by itself."""

    def __init__(self, port: int, topic: str, *, auth: Optional[tuple[str, str]] = None,
                 ca_file: Optional[Path] = None) -> None:
        mqtt = pytest.importorskip("paho.mqtt.client")
        self.topic = topic
        self.messages: list[tuple[str, str]] = []  # (topic, payload)
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"durable-{uuid.uuid4().hex[:8]}",
                                  clean_session=False)
        self.client.reconnect_delay_set(0.1, 0.5)
        if auth:
            self.client.username_pw_set(*auth)
        if ca_file:
            self.client.tls_set(ca_certs=str(ca_file))
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(HOST, port, keepalive=10)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("test subscriber could not subscribe")

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode()))

    def got(self, topic: Optional[str] = None) -> list[str]:
        """Payloads received (on ``topic`` only, if given), in order."""
        with self._lock:
            return [p for t, p in self.messages if topic is None or t == topic]

    def wait(self, count: int, timeout_s: float = 30.0) -> list[str]:
        wait_until(lambda: len(set(self.got())) >= count, timeout_s, 0.05)
        return self.got()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def first_seen(items: list) -> list:
    """Items in order of first appearance: QoS 1 may deliver twice."""
    return list(dict.fromkeys(items))


def settle(seconds: float) -> None:
    time.sleep(seconds)

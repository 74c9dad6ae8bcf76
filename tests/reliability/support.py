"""Helpers for the reliability tests: the real CLIs as subprocesses, and a durable MQTT subscriber
(brokers come from tests/mosquitto.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from ..mosquitto import subscribed_client, wait_until

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


class DurableSubscriber:
    """A paho subscriber with a persistent session (QoS 1), so that a broker restart loses nothing
    for it; records payloads per topic and reconnects by itself."""

    def __init__(self, port: int, topic: str, *, auth: Optional[tuple[str, str]] = None,
                 ca_file: Optional[Path] = None) -> None:
        self.topic = topic
        self.messages: list[tuple[str, str]] = []  # (topic, payload)
        self._lock = threading.Lock()
        self.client = subscribed_client(port, [topic], self._on_message, durable=True, auth=auth, ca_file=ca_file)

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


#: runs argv[1:] and appends its peak RSS to stderr. Measured in a fresh launcher, because Linux
#: carries the RSS a process had before exec into its ru_maxrss: a child forked straight from a
#: pytest that has grown to 1 GB would report 1 GB whatever it did.
_LAUNCHER = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
             "sys.stderr.write('\\npeak_rss_kb %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "sys.exit(code)")


def child_rss(args: list[str], timeout: float = 120) -> tuple[int, int, str, str]:
    """(exit status, peak RSS in kB, stdout, stderr) of a `ser-edge` child; after ``timeout`` s it is
    killed with everything under it."""
    with open(os.devnull, "rb") as null:
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *SER_EDGE, *args], stdin=null, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and ser-edge under it
        proc.communicate()
        raise
    err, _, rss = err.rstrip("\n").rpartition("\npeak_rss_kb ")
    return proc.returncode, int(rss), out, err

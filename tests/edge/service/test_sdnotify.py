"""Notifier against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from ser_edge.service.sdnotify import Notifier


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket bound in tmp_path, named by NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode("utf-8").split("\n")


def test_messages(listener: socket.socket) -> None:
    n = Notifier()
    assert n.enabled
    assert n.ready()
    assert received(listener) == ["READY=1"]
    assert n.ready(status="listening on hw:1")
    assert received(listener) == ["READY=1", "STATUS=listening on hw:1"]
    assert n.status("model loaded\nwarming up")
    assert received(listener) == ["STATUS=model loaded warming up"]
    assert n.watchdog()
    assert received(listener) == ["WATCHDOG=1"]
    assert n.stopping()
    assert received(listener) == ["STOPPING=1"]


def test_reloading_sends_monotonic_usec(listener: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert Notifier().reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = received(listener)
    assert first == "RELOADING=1"
    key, value = second.split("=")
    assert key == "MONOTONIC_USEC" and before <= int(value) <= after


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"ser-edge-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2.0)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert Notifier().ready()
        assert received(sock) == ["READY=1"]


def test_watchdog_interval_is_half_of_watchdog_usec(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Notifier().watchdog_interval_s is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert Notifier().watchdog_interval_s == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert Notifier().watchdog_interval_s == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert Notifier().watchdog_interval_s is None
    monkeypatch.setenv("WATCHDOG_PID", "x")
    assert Notifier().watchdog_interval_s is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval_s is None


def test_everything_is_a_no_op_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    n = Notifier()
    assert not n.enabled and n.watchdog_interval_s is None
    assert not any([n.ready(), n.stopping(), n.reloading(), n.status("x"), n.watchdog()])


def test_unsupported_address_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ser_edge.service.sdnotify"):
        n = Notifier({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not n.enabled and not n.ready()
    assert "not supported" in caplog.text


def test_send_errors_are_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    with caplog.at_level(logging.DEBUG, logger="ser_edge.service.sdnotify"):
        assert n.ready() is False
        assert n.watchdog() is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "READY=1" in warnings[0].getMessage()  # then quieter
    assert any(r.levelno == logging.DEBUG and "WATCHDOG=1" in r.getMessage() for r in caplog.records)

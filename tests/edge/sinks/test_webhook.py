"""Webhook sink against a real threaded http.server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ser_edge.errors import ConfigError
from ser_edge.events import EventFactory
from ser_edge.sinks import WebhookSink

from ...mosquitto import HOST, free_port, wait_until
from .support import emotion


def test_events_arrive_as_json_with_headers(factory: EventFactory, http_server: tuple) -> None:
    url, recorder = http_server
    events = [emotion(factory), factory.speech_end(start_s=0, end_s=2)]
    with WebhookSink(url=url, headers={"Authorization": "Bearer s3cret"}) as sink:
        for event in events:
            sink.emit(event)
        assert sink.flush(timeout_s=5)
    assert recorder.bodies() == [e.to_dict() for e in events]
    headers = recorder.requests[0]["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer s3cret"
    assert sink.stats()["delivered"] == 2 and sink.stats()["failed"] == 0


def test_500_twice_then_200_is_delivered_on_retry(factory: EventFactory, http_server: tuple) -> None:
    url, recorder = http_server
    recorder.statuses = [500, 503]
    event = emotion(factory)
    with WebhookSink(url=url, retries=3, backoff_s=0.01) as sink:
        sink.emit(event)
        assert sink.flush(timeout_s=5)
    assert [r["status"] for r in recorder.requests] == [500, 503, 200]
    assert recorder.bodies()[-1] == event.to_dict()
    assert sink.stats()["delivered"] == 1 and sink.stats()["failed"] == 0


def test_client_error_is_not_retried(factory: EventFactory, http_server: tuple) -> None:
    url, recorder = http_server
    recorder.statuses = [400]
    with WebhookSink(url=url, retries=3, backoff_s=0.01) as sink:
        sink.emit(emotion(factory))
        sink.flush(timeout_s=5)
    assert len(recorder.requests) == 1
    assert sink.stats()["failed"] == 1


def test_dead_port_does_not_raise_and_is_counted(factory: EventFactory) -> None:
    sink = WebhookSink(url=f"http://{HOST}:{free_port()}/hook", retries=2, backoff_s=0.01, timeout_s=1)
    started = time.monotonic()
    sink.emit(emotion(factory))
    sink.emit(emotion(factory))
    assert time.monotonic() - started < 0.1
    assert sink.flush(timeout_s=5)
    sink.close()
    assert sink.stats()["failed"] == 2 and sink.stats()["delivered"] == 0


def test_slow_server_never_blocks_emit_and_overflow_is_dropped(factory: EventFactory, http_server: tuple) -> None:
    url, recorder = http_server
    recorder.delay_s = 0.3
    sink = WebhookSink(url=url, queue_size=2, close_timeout_s=0.1)
    started = time.monotonic()
    for _ in range(6):
        sink.emit(emotion(factory))
    assert time.monotonic() - started < 0.1
    sink.close()  # bounded, although the server is slow
    assert time.monotonic() - started < 2.0
    stats = sink.stats()
    assert stats["dropped"] >= 3
    assert stats["emitted"] == 6


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="http"):
        WebhookSink(url="ftp://example.invalid/x")


class _RawServer:
    """A TCP server on 127.0.0.1 that reads one request and answers with ``answer(conn)``; counts
    the bytes it managed to send. Bounded: it stops after ``limit_s``."""

    def __init__(self, answer, limit_s: float = 20.0) -> None:
        self.sent = 0
        self.sock = socket.create_server((HOST, 0))
        self.sock.settimeout(limit_s)
        self.url = f"http://{HOST}:{self.sock.getsockname()[1]}/hook"
        self._answer, self._limit_s = answer, limit_s
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(self._limit_s)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += conn.recv(65536)
            try:
                self._answer(self, conn, time.monotonic() + self._limit_s)
            except OSError:
                pass  # the client closed: what we wanted

    def close(self) -> None:
        self.sock.close()
        self.thread.join(self._limit_s + 5)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # loopback must not go through a proxy


def test_a_huge_answer_is_not_read_whole(factory: EventFactory, no_proxy: None) -> None:
    """An answer of 1 GB: the sink reads a few KB and closes, so the server cannot send it all."""
    size = 1 << 30

    def answer(server: _RawServer, conn, until: float) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size)
        chunk = bytes(1 << 16)
        while server.sent < size and time.monotonic() < until:
            conn.sendall(chunk)
            server.sent += len(chunk)

    server = _RawServer(answer)
    try:
        with WebhookSink(url=server.url, retries=0, timeout_s=10) as sink:
            sink.emit(emotion(factory))
            assert sink.flush(timeout_s=15)
        server.thread.join(15)
        assert sink.stats()["delivered"] == 1
        assert server.sent < 64 << 20, f"the client took {server.sent >> 20} MB of the answer"
    finally:
        server.close()


def test_a_trickling_server_cannot_hold_a_request_past_its_timeout(factory: EventFactory, no_proxy: None) -> None:
    """One byte of the answer every 0.2 s resets a per-read timeout for ever; the deadline holds."""

    def answer(server: _RawServer, conn, until: float) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Slow: " + b"x" * 1000:
            if time.monotonic() > until:
                return
            conn.sendall(bytes([byte]))
            server.sent += 1
            time.sleep(0.2)

    server = _RawServer(answer, limit_s=10)
    try:
        sink = WebhookSink(url=server.url, retries=0, timeout_s=1.0, close_timeout_s=0.1)
        started = time.monotonic()
        sink.emit(emotion(factory))
        assert wait_until(lambda: sink.stats()["failed"] == 1, 8), sink.stats()
        assert time.monotonic() - started < 3.0
        sink.close()
    finally:
        server.close()

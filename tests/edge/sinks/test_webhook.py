"""Webhook sink against a real threaded http.server on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from ser_edge.errors import ConfigError
from ser_edge.events import EventFactory
from ser_edge.sinks import WebhookSink

from ...mosquitto import HOST, free_port
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

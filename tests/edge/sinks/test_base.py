"""The shared sink behaviour: type filter, counting, fan-out that survives a bad sink."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import List

import pytest

from ser_edge.errors import ConfigError, DependencyError
from ser_edge.events import Event, EventFactory
from ser_edge.sinks import BaseSink, MqttSink, MultiSink, Sink

from .support import emotion


class ListSink(BaseSink):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(name="list", **kwargs)  # type: ignore[arg-type]
        self.events: List[Event] = []

    def _emit(self, event: Event) -> None:
        self.events.append(event)


class BrokenSink(BaseSink):
    def _emit(self, event: Event) -> None:
        raise OSError("network unreachable")


class RudeSink:
    """A third-party sink that breaks the never-raise rule."""

    name = "rude"

    def emit(self, event: Event) -> None:
        raise RuntimeError("boom")

    def flush(self) -> bool:
        raise RuntimeError("boom")

    def close(self) -> None:
        raise RuntimeError("boom")


def test_event_types_filter(factory: EventFactory) -> None:
    sink = ListSink(event_types=["emotion"])
    sink.emit(factory.speech_start(start_s=0))
    sink.emit(emotion(factory))
    assert [e.type for e in sink.events] == ["emotion"]
    assert sink.stats()["filtered"] == 1 and sink.stats()["delivered"] == 1
    assert isinstance(sink, Sink)


def test_unknown_event_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="emotions"):
        ListSink(event_types=["emotions"])


def test_transport_fault_is_counted_and_logged_once(factory: EventFactory, caplog: pytest.LogCaptureFixture) -> None:
    sink = BrokenSink(name="broken")
    with caplog.at_level(logging.WARNING, logger="ser_edge.sinks"):
        for _ in range(5):
            sink.emit(emotion(factory))
    assert sink.stats()["failed"] == 5
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "network unreachable" in warnings[0].getMessage()


def test_closed_sink_ignores_events(factory: EventFactory) -> None:
    sink = ListSink()
    sink.close()
    sink.emit(emotion(factory))
    assert sink.events == [] and sink.stats()["dropped"] == 1


def test_multisink_keeps_going_past_failing_sinks(factory: EventFactory) -> None:
    good = ListSink()
    multi = MultiSink([BrokenSink(name="broken"), RudeSink(), good])
    events = [emotion(factory), factory.speech_end(start_s=0, end_s=1)]
    with multi:
        for event in events:
            multi.emit(event)
        assert multi.flush() is False  # the rude one failed
    assert good.events == events
    assert good.closed
    assert multi.stats()["broken"]["failed"] == 2
    assert "rude" not in multi.stats()


def test_mqtt_without_paho_names_the_pip_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "paho.mqtt.client", None)  # makes the import fail
    with pytest.raises(DependencyError, match=r"ser-edge\[mqtt\]"):
        MqttSink(device="x")


def test_device_modules_import_only_what_a_pi_has() -> None:
    code = (
        "import sys, ser_edge.events, ser_edge.sinks\n"
        "heavy = ('tensorflow', 'keras', 'librosa', 'scipy', 'requests', 'paho')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

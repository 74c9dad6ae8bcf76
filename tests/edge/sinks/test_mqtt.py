"""MQTT sink against a real mosquitto on 127.0.0.1, checked with a real paho subscriber."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Callable

import pytest

from ser_edge.errors import ConfigError
from ser_edge.events import EventFactory, event_from_json

from ...mosquitto import HOST, free_port
from .support import Subscriber, TcpGate, emotion

paho = pytest.importorskip("paho.mqtt.client")
from ser_edge.sinks import MqttSink  # noqa: E402  (after the skip)


def make_sink(port: int, device: str, **kwargs: object) -> MqttSink:
    options = {"host": HOST, "port": port, "device": device, "keepalive_s": 5, "flush_timeout_s": 5.0}
    options.update(kwargs)
    return MqttSink(**options)  # type: ignore[arg-type]


def test_discovery_config_is_retained_with_the_right_fields(broker: int, device: str, subscribe: Callable) -> None:
    with make_sink(broker, device, model="crnn-v1") as sink:
        assert sink.wait_connected(5)
        topic = f"homeassistant/sensor/{device}/emotion/config"
        assert sink.discovery_topic == topic
        (message,) = subscribe(topic).wait(topic)
    _, payload, _, retained = message
    assert retained
    config = json.loads(payload)
    assert config["unique_id"] == f"ser_edge_{device}_emotion"
    assert config["state_topic"] == config["json_attributes_topic"] == f"ser-edge/{device}/state"
    assert config["availability_topic"] == f"ser-edge/{device}/availability"
    assert config["value_template"] == "{{ value_json.label }}"
    assert config["name"]
    block = config["device"]
    assert block["identifiers"] == [f"ser_edge_{device}"] and block["name"] == device
    assert "crnn-v1" in block["model"] and block["sw_version"]


def test_discovery_can_be_off_and_node_id_is_sanitised(broker: int, device: str) -> None:
    with make_sink(broker, device + ".local", discovery=False, discovery_prefix="ha") as sink:
        assert sink.discovery_topic == f"ha/sensor/{device}_local/emotion/config"
        assert sink.wait_connected(5)


def test_events_arrive_in_order_with_qos1(broker: int, device: str, subscribe: Callable,
                                          factory: EventFactory) -> None:
    topic = f"ser-edge/{device}/event"
    sub = subscribe(topic)
    events = [emotion(factory, start_s=i) if i % 2 else factory.speech_start(start_s=i) for i in range(30)]
    with make_sink(broker, device) as sink:
        for event in events:
            sink.emit(event)
        assert sink.flush()
        got = sub.wait(topic, len(events))
    assert [event_from_json(m[1]) for m in got] == events
    assert all(m[2] == 1 for m in got)
    assert sink.stats()["delivered"] == len(events)


def test_state_is_retained_current_emotion(broker: int, device: str, subscribe: Callable,
                                           factory: EventFactory) -> None:
    with make_sink(broker, device) as sink:
        sink.emit(emotion(factory, "happy"))
        last = emotion(factory, "angry", start_s=2)
        sink.emit(last)
        sink.emit(factory.speech_end(start_s=0, end_s=4))  # not an emotion: state unchanged
        assert sink.flush()
    topic = f"ser-edge/{device}/state"
    (message,) = subscribe(topic).wait(topic)
    state = json.loads(message[1])
    assert message[3] is True  # delivered because retained
    assert (state["label"], state["confidence"], state["time"]) == ("angry", 0.7, last.time)


def test_availability_online_then_offline_after_close(broker: int, device: str, subscribe: Callable) -> None:
    topic = f"ser-edge/{device}/availability"
    sub = subscribe(topic)
    sink = make_sink(broker, device)
    assert sub.wait(topic, 1)[0][1] == "online"
    sink.close()
    assert [m[1] for m in sub.wait(topic, 2)] == ["online", "offline"]
    (late,) = subscribe(topic).wait(topic)
    assert late[1:] == ("offline", 1, True)


CHILD = """
import sys, time
from ser_edge.sinks import MqttSink
sink = MqttSink(host="127.0.0.1", port=int(sys.argv[1]), device=sys.argv[2], keepalive_s=1, discovery=False)
if not sink.wait_connected(5):
    sys.exit(3)
print("ready", flush=True)
time.sleep(60)
"""


def test_last_will_offline_when_the_process_dies(broker: int, device: str, subscribe: Callable) -> None:
    topic = f"ser-edge/{device}/availability"
    sub = subscribe(topic)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(broker), device],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        assert sub.wait(topic, 1)[0][1] == "online"
        started = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)  # no DISCONNECT: only the broker's will can tell
        child.wait(timeout=5)
        assert [m[1] for m in sub.wait(topic, 2, timeout_s=5)] == ["online", "offline"]
        assert time.monotonic() - started < 5
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()


def test_broker_outage_queues_then_delivers(broker: int, device: str, subscribe: Callable,
                                            factory: EventFactory) -> None:
    topic = f"ser-edge/{device}/event"
    sub = subscribe(topic)
    gate = TcpGate(broker)  # closed: the broker is "down"
    sink = make_sink(gate.port, device, reconnect_min_s=0.2, reconnect_max_s=0.2)
    try:
        started = time.monotonic()
        events = [emotion(factory, start_s=i) for i in range(5)]
        for event in events:
            sink.emit(event)
        assert time.monotonic() - started < 0.1  # queued, not waited for
        assert not sink.flush(timeout_s=0.3)
        gate.is_open = True
        assert sink.flush(timeout_s=5)
        assert [event_from_json(m[1]) for m in sub.wait(topic, 5)] == events
        gate.cut()  # and once more, mid-stream
        more = [emotion(factory, start_s=10 + i) for i in range(3)]
        for event in more:
            sink.emit(event)
        gate.is_open = True
        assert sink.flush(timeout_s=5)
        got = [event_from_json(m[1]) for m in sub.wait(topic, 8)]
        first_seen = list(dict.fromkeys(got))  # QoS 1 is at least once: duplicates may occur
        assert first_seen == events + more
    finally:
        sink.close()
        gate.close()


def test_unreachable_broker_never_raises_and_closes_quickly(device: str, factory: EventFactory) -> None:
    sink = make_sink(free_port(), device, reconnect_min_s=0.2)
    sink.emit(emotion(factory))
    started = time.monotonic()
    sink.close()
    assert time.monotonic() - started < 3
    assert not sink.connected


def test_queue_bound_drops_and_counts(device: str, factory: EventFactory) -> None:
    sink = make_sink(free_port(), device, max_queued_messages=3, discovery=False)
    for i in range(5):
        sink.emit(factory.speech_start(start_s=i))
    sink.close()
    assert sink.stats()["dropped"] == 2


def test_bad_options_are_config_errors(device: str, tmp_path) -> None:
    with pytest.raises(ConfigError, match="device"):
        MqttSink(device="kitchen/#")
    with pytest.raises(ConfigError, match=str(tmp_path / "missing-ca.pem")):
        MqttSink(device=device, ca_file=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ConfigError, match="username"):
        MqttSink(device=device, password="x")


def test_discovery_is_sent_again_when_home_assistant_restarts(broker: int, device: str,
                                                               subscribe: Callable) -> None:
    topic = f"homeassistant/sensor/{device}/emotion/config"
    with make_sink(broker, device) as sink:
        assert sink.wait_connected(5)
        sub = subscribe(topic)
        assert sub.wait(topic, 1)[0][3] is True  # the retained copy
        announcer = Subscriber(broker, [])
        try:
            announcer.client.publish("homeassistant/status", "online", qos=1).wait_for_publish(5)
        finally:
            announcer.close()
        again = sub.wait(topic, 2)
    assert len(again) == 2 and again[1][1] == again[0][1] and again[1][3] is False

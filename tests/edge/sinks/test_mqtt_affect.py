"""Arousal and valence over MQTT, against a real mosquitto: in the retained state document, and as
two Home Assistant sensors (measurement, no unit, -1..1) discovered beside the emotion sensor."""

from __future__ import annotations

import json
from typing import Callable

import pytest

from ser_edge.events import EventFactory

from ...mosquitto import HOST

paho = pytest.importorskip("paho.mqtt.client")
from ser_edge.sinks import MqttSink  # noqa: E402  (after the skip)

SCORES = {"neutral": 0.1, "happy": 0.1, "sad": 0.1, "angry": 0.7}


def make_sink(port: int, device: str, **kwargs: object) -> MqttSink:
    options = {"host": HOST, "port": port, "device": device, "keepalive_s": 5, "flush_timeout_s": 5.0}
    options.update(kwargs)
    return MqttSink(**options)  # type: ignore[arg-type]


def test_the_state_document_carries_arousal_and_valence(broker: int, device: str, subscribe: Callable,
                                                        factory: EventFactory) -> None:
    with make_sink(broker, device, discovery=False) as sink:
        sink.emit(factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2,
                                  arousal=0.5612, valence=-0.4011))
        assert sink.flush()
    topic = f"ser-edge/{device}/state"
    (message,) = subscribe(topic).wait(topic)
    state = json.loads(message[1])
    assert (state["label"], state["arousal"], state["valence"]) == ("angry", 0.561, -0.401)


def test_without_a_placement_the_state_says_null(broker: int, device: str, subscribe: Callable,
                                                 factory: EventFactory) -> None:
    with make_sink(broker, device, discovery=False) as sink:
        sink.emit(factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2))
        assert sink.flush()
    topic = f"ser-edge/{device}/state"
    (message,) = subscribe(topic).wait(topic)
    state = json.loads(message[1])
    assert "arousal" in state and state["arousal"] is None and state["valence"] is None


@pytest.mark.parametrize("object_id", ["arousal", "valence"])
def test_discovery_adds_a_numeric_sensor_beside_the_emotion_sensor(broker: int, device: str, subscribe: Callable,
                                                                   object_id: str) -> None:
    topic = f"homeassistant/sensor/{device}/{object_id}/config"
    emotion_topic = f"homeassistant/sensor/{device}/emotion/config"
    with make_sink(broker, device, model="crnn-v1") as sink:
        assert sink.wait_connected(5)
        sub = subscribe(topic, emotion_topic)
        (message,) = sub.wait(topic)
        (emotion_message,) = sub.wait(emotion_topic)
    _, payload, qos, retained = message
    assert retained and qos == 1
    config, emotion = json.loads(payload), json.loads(emotion_message[1])
    assert config["unique_id"] == f"ser_edge_{device}_{object_id}" != emotion["unique_id"]
    assert config["name"] == object_id.capitalize()
    assert config["state_topic"] == f"ser-edge/{device}/state" == emotion["state_topic"]
    assert config["value_template"] == f"{{{{ value_json.{object_id} }}}}"
    assert config["state_class"] == "measurement"
    assert "unit_of_measurement" not in config and "device_class" not in config
    assert "json_attributes_topic" not in config  # the emotion sensor carries the whole document
    assert config["availability_topic"] == emotion["availability_topic"] == f"ser-edge/{device}/availability"
    assert config["device"] == emotion["device"]  # one device with three sensors
    assert config["device"]["identifiers"] == [f"ser_edge_{device}"] and "crnn-v1" in config["device"]["model"]


def test_the_affect_sensors_are_sent_again_when_home_assistant_restarts(broker: int, device: str,
                                                                       subscribe: Callable) -> None:
    topic = f"homeassistant/sensor/{device}/valence/config"
    with make_sink(broker, device) as sink:
        assert sink.wait_connected(5)
        sub = subscribe(topic)
        assert sub.wait(topic, 1)[0][3] is True  # the retained copy
        announcer = subscribe()
        announcer.client.publish("homeassistant/status", "online", qos=1).wait_for_publish(5)
        again = sub.wait(topic, 2)
    assert len(again) == 2 and again[1][1] == again[0][1] and again[1][3] is False


def test_no_affect_sensors_when_discovery_is_off(broker: int, device: str, subscribe: Callable,
                                                 factory: EventFactory) -> None:
    topics = [f"homeassistant/sensor/{device}/{x}/config" for x in ("arousal", "valence")]
    with make_sink(broker, device, discovery=False) as sink:
        sink.emit(factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2))
        assert sink.flush()
    state = f"ser-edge/{device}/state"
    sub = subscribe(*topics, state)
    sub.wait(state)  # the broker sends retained messages filter by filter: a config would be here by now
    assert all(not sub.on(t) for t in topics)

"""Home Assistant's discovery messages, as the MQTT sink publishes them (retained) on connect."""

from __future__ import annotations

import json

from ser_edge.sinks.mqtt_payloads import discovery_messages, topics_for


def test_the_emotion_sensor_then_arousal_and_valence() -> None:
    messages = discovery_messages(topics_for("kitchen pi", "ser-edge/", "ha"), "crnn")
    assert [topic for topic, _ in messages] == [
        "ha/sensor/kitchen_pi/emotion/config", "ha/sensor/kitchen_pi/arousal/config",
        "ha/sensor/kitchen_pi/valence/config"]
    configs = [json.loads(payload) for _, payload in messages]
    assert [c["unique_id"] for c in configs] == [
        "ser_edge_kitchen_pi_emotion", "ser_edge_kitchen_pi_arousal", "ser_edge_kitchen_pi_valence"]
    assert {c["state_topic"] for c in configs} == {"ser-edge/kitchen pi/state"}
    assert {c["availability_topic"] for c in configs} == {"ser-edge/kitchen pi/availability"}
    assert configs[0]["device"]["model"] == "ser-edge speech emotion (crnn)"
    assert all(payload == json.dumps(c, separators=(",", ":")) for (_, payload), c in zip(messages, configs))

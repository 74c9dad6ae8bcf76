"""MQTT payloads besides the event itself (the retained state, Home Assistant discovery), and
small helpers of the MQTT sink.

Home Assistant reads retained JSON configs under
`<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`; node and
object ids may only use [a-zA-Z0-9_-]. The sensor's state is the label from
the retained state topic, and the whole state document becomes its attributes.
Beside it, two numeric sensors (`affect_discovery_configs`) read arousal and
valence (-1..1, no unit) from the same state document.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from ser_edge.errors import ConfigError
from ser_edge.events import EmotionEvent

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"


def callback(method: Callable[..., None]) -> Callable[..., None]:
    """Keep paho's network thread alive if one of our callbacks has a bug."""
    @functools.wraps(method)
    def guarded(self: Any, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:
            log.exception("MQTT %s callback failed", method.__name__)
    return guarded


def check_topic_part(what: str, value: str) -> str:
    """``value`` if it may be a topic level (ConfigError naming ``what`` if not)."""
    if not value or re.search(r"[+#\x00]", value):
        raise ConfigError(f"MQTT {what} {value!r} must be non-empty without '+', '#' or NUL")
    return value


@dataclass(frozen=True)
class Topics:
    """The MQTT sink's names: device, Home Assistant node id, and the topics.

    Topics, for topic prefix P and device D:
      P/D/event         every event, QoS 1, not retained
      P/D/state         the current emotion {label, confidence, time, ...}, QoS 1, retained
      P/D/availability  "online" on every connect, "offline" on clean close and as
                        the retained last will, so a crash or a pulled plug shows too
      <discovery>/sensor/<node_id>/emotion/config
                        retained Home Assistant discovery config: a sensor whose
                        state is the current label and whose attributes are the
                        state document appears without any YAML.
      <discovery>/sensor/<node_id>/arousal/config, .../valence/config
                        two numeric sensors (-1..1) from the same state document.
    """

    device: str
    node_id: str
    event: str
    state: str
    availability: str
    discovery_prefix: str
    discovery: str


def topics_for(device: str, topic_prefix: str, discovery_prefix: str) -> Topics:
    """The topics for a device under these prefixes (ConfigError for a level MQTT does not allow)."""
    device = check_topic_part("device", device)
    node_id = node_id_for(device)
    prefix = check_topic_part("topic_prefix", topic_prefix.strip("/"))
    discovery = check_topic_part("discovery_prefix", discovery_prefix.strip("/"))
    return Topics(device, node_id, f"{prefix}/{device}/event", f"{prefix}/{device}/state",
                  f"{prefix}/{device}/availability", discovery, f"{discovery}/sensor/{node_id}/emotion/config")


def compact(data: Any) -> str:
    """JSON without spaces."""
    return json.dumps(data, separators=(",", ":"))


def node_id_for(device: str) -> str:
    """`device` reduced to the characters Home Assistant allows in a node id."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", device)


def package_version() -> str:
    """The installed ser-edge version, or "unknown" when run from a bare tree."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return "unknown"
    try:
        return version("ser-edge")
    except PackageNotFoundError:
        return "unknown"


def discovery_config(
    *, device: str, node_id: str, model: Optional[str], state_topic: str, availability_topic: str
) -> Dict[str, Any]:
    """The config document for `<discovery_prefix>/sensor/<node_id>/emotion/config`."""
    sw_version = package_version()
    return {
        "name": "Emotion",  # shown as "<device> Emotion" under the device
        "unique_id": f"ser_edge_{node_id}_emotion",
        "state_topic": state_topic,
        "value_template": "{{ value_json.label }}",
        "json_attributes_topic": state_topic,
        "availability_topic": availability_topic,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "qos": 1,
        "icon": "mdi:emoticon-outline",
        "device": {
            "identifiers": [f"ser_edge_{node_id}"],
            "name": device,
            "manufacturer": "ser-edge",
            "model": f"ser-edge speech emotion ({model})" if model else "ser-edge speech emotion",
            "sw_version": sw_version,
        },
        "origin": {"name": "ser-edge", "sw_version": sw_version},
    }


def state_document(event: EmotionEvent) -> Dict[str, Any]:
    """The retained state: the current emotion, its arousal and valence (-1..1, null if the model
    has no circumplex) and when it was heard (wall clock and audio time)."""
    return {"label": event.label, "confidence": event.confidence, "time": event.time,
            "start_s": event.start_s, "end_s": event.end_s, "scores": dict(event.scores), "seq": event.seq,
            "arousal": event.arousal, "valence": event.valence}


#: object id -> (name, icon) of the numeric sensors beside the emotion sensor
AFFECT_SENSORS = {"arousal": ("Arousal", "mdi:lightning-bolt-outline"),
                  "valence": ("Valence", "mdi:thumbs-up-down-outline")}


def affect_discovery_configs(
    *, device: str, node_id: str, model: Optional[str], state_topic: str, availability_topic: str
) -> Dict[str, Dict[str, Any]]:
    """object id -> config document for `<discovery_prefix>/sensor/<node_id>/<object id>/config`:
    arousal and valence as measurements in -1..1 without a unit, from the state document (a null
    there renders as "None", which Home Assistant shows as unknown)."""
    emotion = discovery_config(device=device, node_id=node_id, model=model, state_topic=state_topic,
                               availability_topic=availability_topic)
    configs = {}
    for object_id, (name, icon) in AFFECT_SENSORS.items():
        config = {k: v for k, v in emotion.items() if k != "json_attributes_topic"}
        config.update({"name": name, "unique_id": f"ser_edge_{node_id}_{object_id}", "icon": icon,
                       "value_template": f"{{{{ value_json.{object_id} }}}}", "state_class": "measurement",
                       "suggested_display_precision": 2})
        configs[object_id] = config
    return configs


def discovery_messages(t: Topics, model: Optional[str]) -> List[Tuple[str, str]]:
    """(topic, compact JSON) of every retained Home Assistant discovery config for the topics
    ``t``: the emotion sensor's, then the numeric sensors' (arousal, valence). ``model``: the
    model id shown in the device block."""
    where = dict(device=t.device, node_id=t.node_id, model=model, state_topic=t.state,
                 availability_topic=t.availability)
    messages = [(t.discovery, compact(discovery_config(**where)))]
    for object_id, config in affect_discovery_configs(**where).items():
        messages.append((f"{t.discovery_prefix}/sensor/{t.node_id}/{object_id}/config", compact(config)))
    return messages

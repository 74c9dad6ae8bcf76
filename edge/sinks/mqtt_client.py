"""Building a configured paho-mqtt 2.x client: import, will, back-off, auth, TLS.

Kept apart from the sink so that the sink reads as publishing logic only.
paho-mqtt is imported here, lazily, when a client is first built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..errors import ConfigError, DependencyError

log = logging.getLogger(__name__)


def import_paho() -> Any:
    """The paho.mqtt.client module, or a DependencyError naming the pip extra."""
    try:
        import paho.mqtt.client as mqtt
    except ImportError as exc:
        raise DependencyError("MQTT output needs paho-mqtt 2.x: pip install 'ser-edge[mqtt]'") from exc
    if not hasattr(mqtt, "CallbackAPIVersion"):
        raise DependencyError("MQTT output needs paho-mqtt>=2.0, an older one is installed: "
                              "pip install -U 'ser-edge[mqtt]'")
    return mqtt


@dataclass(frozen=True)
class ClientOptions:
    """Connection settings; times in seconds. See MqttSink for what each one means."""

    client_id: str
    keepalive_s: int = 60
    max_queued_messages: int = 1000
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 120.0
    username: Optional[str] = None
    password: Optional[str] = None
    tls: bool = False
    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    tls_insecure: bool = False


def make_client(mqtt: Any, options: ClientOptions, *, will_topic: str, will_payload: str) -> Any:
    """A paho Client (MQTT 3.1.1, clean session, callback API 2) with a retained QoS 1 last will."""
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                         client_id=options.client_id, protocol=mqtt.MQTTv311, clean_session=True)
    client.max_queued_messages_set(options.max_queued_messages)
    client.reconnect_delay_set(min_delay=options.reconnect_min_s, max_delay=options.reconnect_max_s)
    # Retained, so that anyone subscribing later also sees the device is gone.
    client.will_set(will_topic, will_payload, qos=1, retain=True)
    _setup_auth(client, options)
    _setup_tls(client, options)
    return client


def _setup_auth(client: Any, options: ClientOptions) -> None:
    if options.username is not None:
        client.username_pw_set(options.username, options.password)
    elif options.password is not None:
        raise ConfigError("MQTT password given without a username")


def _setup_tls(client: Any, o: ClientOptions) -> None:
    if not (o.tls or o.ca_file or o.cert_file or o.key_file):
        return
    for what, path in (("ca_file", o.ca_file), ("cert_file", o.cert_file), ("key_file", o.key_file)):
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"MQTT TLS {what} {path} does not exist or is not a file")
    try:
        client.tls_set(ca_certs=o.ca_file, certfile=o.cert_file, keyfile=o.key_file)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ConfigError(f"MQTT TLS setup failed (ca_file={o.ca_file}, cert_file={o.cert_file}): {exc}") from exc
    if o.tls_insecure:
        log.warning("MQTT TLS host-name verification is OFF (tls_insecure)")
        client.tls_insecure_set(True)

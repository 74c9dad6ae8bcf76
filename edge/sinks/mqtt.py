"""MQTT sink (paho-mqtt 2.x), with Home Assistant discovery.

Topics, for topic prefix P and device D:
  P/D/event         every event, QoS 1, not retained
  P/D/state         the current emotion {label, confidence, time, ...}, QoS 1, retained
  P/D/availability  "online" on every connect, "offline" on clean close and as
                    the retained last will, so a crash or a pulled plug shows too
  <discovery>/sensor/<node_id>/emotion/config
                    retained Home Assistant discovery config: a sensor whose
                    state is the current label and whose attributes are the
                    state document appears without any YAML.

paho's own network thread (loop_start) does all socket work: `emit` never
waits for the network. While the broker is away, events wait in a bounded
backlog of this sink (paho alone would reorder messages around a reconnect)
and go out in order once the connection is back and what paho still had in
flight is acknowledged. QoS 1 is at-least-once: after a connection loss a
consumer may see an event twice; `seq` tells duplicates apart.
paho-mqtt is imported lazily; without it, a DependencyError names the extra.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import socket
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, Optional, Set, Tuple

from ..errors import ConfigError
from ..events import EmotionEvent, Event
from .base import BaseSink
from .mqtt_client import ClientOptions, import_paho, make_client
from .mqtt_payloads import OFFLINE, ONLINE, discovery_config, node_id_for, state_document

log = logging.getLogger(__name__)

QOS = 1
Message = Tuple[str, str, bool, bool]  # topic, payload, retain, is an event (counts as a delivery)


def _callback(method: Callable[..., None]) -> Callable[..., None]:
    """Keep paho's network thread alive if one of our callbacks has a bug."""
    @functools.wraps(method)
    def guarded(self: Any, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:
            log.exception("MQTT %s callback failed", method.__name__)
    return guarded


def _check_topic_part(what: str, value: str) -> str:
    if not value or re.search(r"[+#\x00]", value):
        raise ConfigError(f"MQTT {what} {value!r} must be non-empty without '+', '#' or NUL")
    return value


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class MqttSink(BaseSink):
    """Publish events to an MQTT broker; see the module doc for the topics.

    Parameters (keyword-only; times in seconds):
      host, port: the broker (1883 plain, usually 8883 with TLS).
      client_id: default "ser-edge-<node_id>-<pid>", unique per process.
      username, password: broker credentials, if it wants them.
      tls: use TLS; implied by ca_file/cert_file/key_file. Without ca_file the
        system's CA store is used. tls_insecure skips host-name checks (off by default).
      keepalive_s: ping interval; the broker fires the last will after ~1.5x this of silence.
      topic_prefix: first topic level(s), default "ser-edge".
      device: name in topics and in Home Assistant, default the hostname.
      model: model description for the Home Assistant device block.
      discovery, discovery_prefix: publish Home Assistant discovery under this prefix.
      max_queued_messages: messages held while the broker is away; beyond, new ones are dropped and counted.
      reconnect_min_s, reconnect_max_s: reconnect back-off, doubling from min to max.
      flush_timeout_s: how long flush()/close() wait for the broker's acknowledgements.
      event_types: event types to publish on the event topic (default: all).
    """

    synchronous = False

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 1883,
        client_id: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        tls: bool = False,
        ca_file: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        tls_insecure: bool = False,
        keepalive_s: int = 60,
        topic_prefix: str = "ser-edge",
        device: Optional[str] = None,
        model: Optional[str] = None,
        discovery: bool = True,
        discovery_prefix: str = "homeassistant",
        max_queued_messages: int = 1000,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 120.0,
        flush_timeout_s: float = 5.0,
        event_types: Optional[Iterable[str]] = None,
        name: str = "mqtt",
    ) -> None:
        mqtt = import_paho()
        super().__init__(name=name, event_types=event_types)
        self.device = _check_topic_part("device", device or socket.gethostname())
        self.node_id = node_id_for(self.device)
        prefix = _check_topic_part("topic_prefix", topic_prefix.strip("/"))
        self.event_topic = f"{prefix}/{self.device}/event"
        self.state_topic = f"{prefix}/{self.device}/state"
        self.availability_topic = f"{prefix}/{self.device}/availability"
        self.discovery = discovery
        self.discovery_prefix = _check_topic_part("discovery_prefix", discovery_prefix.strip("/"))
        self.discovery_topic = f"{self.discovery_prefix}/sensor/{self.node_id}/emotion/config"
        self.model = model
        self.flush_timeout_s = flush_timeout_s
        # Guards what follows; never held while calling into paho (its callbacks take it).
        self._cond = threading.Condition()
        self._pending: Dict[int, bool] = {}  # mid -> is an event
        self._early_acks: Set[int] = set()  # acks that beat publish() returning
        self._backlog: Deque[Message] = deque()
        self._max_backlog = max_queued_messages
        self._ready = False  # connected and caught up: publish straight away
        self._generation = 0  # bumped on every (dis)connect, so a stale drain stops
        self._closing = False
        self._healthy = True  # False from a lost/failed connection until the next good one
        self._last_state: Optional[str] = None  # re-sent on reconnect: the broker may have restarted
        self._announced = threading.Event()  # set once "online" (and discovery) went out
        self._queue_full = mqtt.MQTT_ERR_QUEUE_SIZE
        options = ClientOptions(
            client_id=client_id or f"ser-edge-{self.node_id}-{os.getpid()}", keepalive_s=keepalive_s,
            max_queued_messages=max_queued_messages, reconnect_min_s=reconnect_min_s,
            reconnect_max_s=reconnect_max_s, username=username, password=password, tls=tls,
            ca_file=ca_file, cert_file=cert_file, key_file=key_file, tls_insecure=tls_insecure)
        self._client = make_client(mqtt, options, will_topic=self.availability_topic, will_payload=OFFLINE)
        for hook in ("connect", "disconnect", "connect_fail", "publish", "message"):
            setattr(self._client, f"on_{hook}", getattr(self, f"_on_{hook}"))
        try:
            self._client.connect_async(host, port, keepalive=keepalive_s)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"MQTT broker address {host}:{port} is not usable: {exc}") from exc
        self._client.loop_start()
        log.info("MQTT sink: broker %s:%d, topics %s/%s/...", host, port, prefix, self.device)

    # --- paho callbacks (network thread) ---

    @_callback
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._trouble("MQTT broker refused the connection: %s (will retry)", reason_code)
            return
        log.info("MQTT connected")
        self._healthy = True
        with self._cond:
            self._generation += 1
            generation = self._generation
            unacked = set(self._pending)  # paho re-sends these once this callback returns
        self._send((self.availability_topic, ONLINE, True, False))
        if self.discovery:
            self._publish_discovery()
            # Home Assistant announces its restarts here; answer with discovery again.
            client.subscribe(f"{self.discovery_prefix}/status", qos=QOS)
        if self._last_state is not None:
            self._send((self.state_topic, self._last_state, True, False))
        self._announced.set()
        threading.Thread(target=self._drain, args=(generation, unacked), daemon=True,
                         name="ser-edge-mqtt-drain").start()

    @_callback
    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        with self._cond:
            self._ready = False
            self._generation += 1
        if not self._closing:
            self._trouble("MQTT connection lost: %s (reconnecting with back-off)", reason_code)

    @_callback
    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        self._trouble("MQTT broker unreachable (retrying with back-off)")

    def _trouble(self, message: str, *args: Any) -> None:
        # One warning per outage; the retries of a long outage go to debug.
        log.log(logging.WARNING if self._healthy else logging.DEBUG, message, *args)
        self._healthy = False

    @_callback
    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if message.topic == f"{self.discovery_prefix}/status" and message.payload == ONLINE.encode():
            self._publish_discovery()

    @_callback
    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self._cond:
            if mid in self._pending:
                self._acked(mid)
            else:
                self._early_acks.add(mid)

    def _acked(self, mid: int) -> None:
        # Called with self._cond held.
        if self._pending.pop(mid):
            self.record_success()
        self._cond.notify_all()

    # --- publishing ---

    def _drain(self, generation: int, unacked: Set[int]) -> None:
        """After a connect: let paho's re-sends be acknowledged, then send the backlog in order."""
        with self._cond:
            self._cond.wait_for(lambda: generation != self._generation or not unacked & self._pending.keys(),
                                timeout=self.flush_timeout_s)
        while True:
            with self._cond:
                if generation != self._generation:
                    return  # disconnected again; the next connect drains
                if not self._backlog:
                    self._ready = True
                    self._cond.notify_all()
                    return
                message = self._backlog[0]
            self._send(message)
            with self._cond:  # popped only once tracked, so flush() never sees it nowhere
                self._backlog.popleft()

    def _submit(self, message: Message) -> None:
        with self._cond:
            if not self._ready or self._backlog:
                if len(self._backlog) < self._max_backlog:
                    self._backlog.append(message)
                    return
                full = True
            else:
                full = False
        if full:
            self.record_failure(f"{self._max_backlog} messages held while disconnected; newest dropped",
                                dropped=True)
        else:
            self._send(message)

    def _send(self, message: Message) -> None:
        topic, payload, retain, is_event = message
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        if info.rc == self._queue_full:
            self.record_failure(f"paho queue full; message to {topic} dropped", dropped=True)
            return
        with self._cond:
            self._pending[info.mid] = is_event
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
                self._acked(info.mid)

    def _publish_discovery(self) -> None:
        config = discovery_config(device=self.device, node_id=self.node_id, model=self.model,
                                  state_topic=self.state_topic, availability_topic=self.availability_topic)
        self._send((self.discovery_topic, _compact(config), True, False))

    def _emit(self, event: Event) -> None:
        self._submit((self.event_topic, event.to_json(), False, True))
        if isinstance(event, EmotionEvent):
            self._last_state = _compact(state_document(event))
            self._submit((self.state_topic, self._last_state, True, False))

    def flush(self, timeout_s: Optional[float] = None) -> bool:
        """Wait up to `timeout_s` seconds (default flush_timeout_s) until everything is acknowledged."""
        timeout = self.flush_timeout_s if timeout_s is None else timeout_s
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._backlog, timeout=timeout)

    @property
    def connected(self) -> bool:
        return bool(self._client.is_connected())

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` seconds for the first connection and everything so far to be acknowledged.

        Never needed for publishing (messages wait for the connection); useful
        for a start-up check or a test.
        """
        deadline = time.monotonic() + timeout_s
        if not self._announced.wait(timeout_s):
            return False
        return self.flush(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Deliver what is queued, publish "offline", disconnect cleanly; bounded by flush_timeout_s."""
        if self.closed:
            return
        super().close()
        self._closing = True
        deadline = time.monotonic() + self.flush_timeout_s
        if self.connected:
            self.flush()  # events before "offline"
            self._send((self.availability_topic, OFFLINE, True, False))
            if not self.flush(max(0.0, deadline - time.monotonic())):
                log.warning("MQTT: %d message(s) not acknowledged at close", len(self._pending) + len(self._backlog))
        elif self._pending or self._backlog:
            log.warning("MQTT: closing while disconnected; %d message(s) not delivered",
                        len(self._pending) + len(self._backlog))
        self._client.disconnect()
        self._client.loop_stop()

"""MQTT sink (paho-mqtt 2.x), with Home Assistant discovery and a spool, so no event is lost.

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

`emit` only appends the event to the sink's spool (`ser_edge.sinks.spool`: bounded, in memory or
on disk) and never waits for the network. A pump thread publishes spooled events in order,
at most `WINDOW` unacknowledged at a time, while the broker is connected; a record leaves
the spool when the broker's PUBACK arrives. After a reconnect, paho first re-sends what was
in flight, and the pump goes on once those are acknowledged, so order holds. QoS 1 is
at-least-once: a consumer may see an event twice after a connection loss; `seq` and `time`
(kept from the original event) tell duplicates apart. With a disk spool, events the broker
has not acknowledged at exit are sent at the next start.

A broker that refuses the credentials, or whose TLS certificate is not trusted, is reported
in `refusal` (and retried with back-off, as any outage). paho-mqtt is imported lazily;
without it, a DependencyError names the extra.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any, Dict, Iterable, Optional, Set

from ser_edge.errors import ConfigError
from ser_edge.listen.events import EmotionEvent, Event
from .spool import MemorySpool, Spool
from .base import BaseSink
from .mqtt_client import ClientOptions, import_paho, make_client, probe_tls, refusal_of, tls_context
from .mqtt_payloads import OFFLINE, ONLINE, callback as _callback, check_topic_part as _check_topic_part, \
    compact as _compact, discovery_config, node_id_for, state_document
from .mqtt_payloads import affect_discovery_configs

log = logging.getLogger(__name__)

QOS = 1
#: events published and not yet acknowledged, at most (paho's own in-flight default)
WINDOW = 20


class MqttSink(BaseSink):
    """Publish events to an MQTT broker; see the module doc for the topics.

    Keyword-only; times in seconds. host, port: the broker. client_id: default
    "ser-edge-<node_id>-<pid>". username, password: credentials, if the broker wants them.
    tls (implied by ca_file/cert_file/key_file): the broker's certificate must chain to ca_file
    (or the system's CAs) and name the host, unless tls_insecure (the CA is still checked).
    keepalive_s: the broker fires the last will after ~1.5x this of silence. topic_prefix,
    device (default the host name), model (for Home Assistant's device block), discovery,
    discovery_prefix: see the module doc. spool: where events wait (a `DiskSpool` survives
    restarts; one passed in outlives the sink), default a `MemorySpool` of max_queued_messages
    events. reconnect_min_s..reconnect_max_s: back-off, doubling. flush_timeout_s: how long
    flush()/close() wait for acknowledgements. event_types: published on the event topic.
    """

    synchronous = False

    def __init__(self, *, host: str = "localhost", port: int = 1883, client_id: Optional[str] = None,
                 username: Optional[str] = None, password: Optional[str] = None, tls: bool = False,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None, key_file: Optional[str] = None,
                 tls_insecure: bool = False, keepalive_s: int = 60, topic_prefix: str = "ser-edge",
                 device: Optional[str] = None, model: Optional[str] = None, discovery: bool = True,
                 discovery_prefix: str = "homeassistant", max_queued_messages: int = 1000,
                 spool: Optional[Spool] = None, reconnect_min_s: float = 1.0, reconnect_max_s: float = 120.0,
                 flush_timeout_s: float = 5.0, event_types: Optional[Iterable[str]] = None,
                 name: str = "mqtt") -> None:
        mqtt = import_paho()
        super().__init__(name=name, event_types=event_types)
        self._set_topics(device or socket.gethostname(), topic_prefix, discovery_prefix)
        self.discovery, self.model, self.host, self.port = discovery, model, host, port
        self.flush_timeout_s = flush_timeout_s
        self._own_spool = spool is None
        self.spool = spool if spool is not None else MemorySpool(max_events=max_queued_messages, name=name)
        # Guards what follows; taken before the spool's lock, never held while calling into paho.
        self._cond = threading.Condition()
        self._inflight: Dict[int, Optional[int]] = {}  # paho mid -> spool id (None: not an event)
        self._events_out = 0  # events among them
        self._early_acks: Set[int] = set()  # acks that beat publish() returning
        self._ready = False  # connected and what paho re-sent is acknowledged: the pump may publish
        self._generation = 0  # bumped on every (dis)connect
        self._stop_pump = self._closing = False
        self._healthy = True  # False from a lost/failed connection until the next good one
        self._last_state: Optional[str] = None  # the retained state document; sent by the pump
        self._state_dirty = False  # _last_state not sent on this connection yet
        self._settled = threading.Event()  # set once "online" went out, or the broker refused us
        self.refusal: Optional[str] = None  # why the broker says no, while it does
        self._start(mqtt, ClientOptions(
            client_id=client_id or f"ser-edge-{self.node_id}-{os.getpid()}", keepalive_s=keepalive_s,
            reconnect_min_s=reconnect_min_s, reconnect_max_s=reconnect_max_s, username=username,
            password=password, tls=tls, ca_file=ca_file, cert_file=cert_file, key_file=key_file,
            tls_insecure=tls_insecure))

    def _set_topics(self, device: str, topic_prefix: str, discovery_prefix: str) -> None:
        self.device = _check_topic_part("device", device)
        self.node_id = node_id_for(self.device)
        prefix = _check_topic_part("topic_prefix", topic_prefix.strip("/"))
        self.event_topic = f"{prefix}/{self.device}/event"
        self.state_topic = f"{prefix}/{self.device}/state"
        self.availability_topic = f"{prefix}/{self.device}/availability"
        self.discovery_prefix = _check_topic_part("discovery_prefix", discovery_prefix.strip("/"))
        self.discovery_topic = f"{self.discovery_prefix}/sensor/{self.node_id}/emotion/config"

    def _start(self, mqtt: Any, options: ClientOptions) -> None:
        """Build the paho client, connect in the background, start the pump."""
        self._tls = tls_context(options)
        self._client = make_client(mqtt, options, will_topic=self.availability_topic, will_payload=OFFLINE,
                                   context=self._tls)
        for hook in ("connect", "disconnect", "connect_fail", "publish", "message"):
            setattr(self._client, f"on_{hook}", getattr(self, f"_on_{hook}"))
        try:
            self._client.connect_async(self.host, self.port, keepalive=options.keepalive_s)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"MQTT broker address {self.host}:{self.port} is not usable: {exc}") from exc
        self._pump_thread = threading.Thread(target=self._pump, name="ser-edge-mqtt-pump", daemon=True)
        self._pump_thread.start()
        self._client.loop_start()
        log.info("MQTT sink: broker %s:%d%s, topics %s", self.host, self.port, " (TLS)" if self._tls else "",
                 self.event_topic.rsplit("/", 1)[0] + "/...")

    # --- paho callbacks (network thread) ---

    @_callback
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self.refusal = refusal_of(reason_code)
            if self.refusal:
                self._settled.set()
            self._trouble("MQTT broker %s:%d refused the connection: %s (will retry)", self.host, self.port,
                          reason_code, level=logging.ERROR if self.refusal else logging.WARNING)
            return
        log.info("MQTT connected to %s:%d", self.host, self.port)
        self._healthy, self.refusal = True, None
        with self._cond:
            self._generation += 1
            generation = self._generation
            unacked = set(self._inflight)  # paho re-sends these once this callback returns
        self._send(self.availability_topic, ONLINE, True)
        if self.discovery:
            self._publish_discovery()
            # Home Assistant announces its restarts here; answer with discovery again.
            client.subscribe(f"{self.discovery_prefix}/status", qos=QOS)
        with self._cond:
            self._state_dirty = self._last_state is not None  # the broker may have restarted without it
        self._settled.set()
        threading.Thread(target=self._await_resent, args=(generation, unacked), daemon=True,
                         name="ser-edge-mqtt-resync").start()

    @_callback
    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        with self._cond:
            self._ready = False
            self._generation += 1
        if not self._closing:
            self._trouble("MQTT connection to %s:%d lost: %s (reconnecting with back-off)", self.host, self.port,
                          reason_code)

    @_callback
    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        if self._tls is not None:  # paho does not say why; one handshake per retry finds out
            refusal = probe_tls(self.host, self.port, self._tls)
            if refusal:
                self.refusal = refusal
                self._settled.set()
                self._trouble("MQTT broker %s:%d: %s (will retry)", self.host, self.port, refusal, level=logging.ERROR)
                return
        self._trouble("MQTT broker %s:%d unreachable (retrying with back-off)", self.host, self.port)

    def _trouble(self, message: str, *args: Any, level: int = logging.WARNING) -> None:
        # One line per outage; the retries of a long outage go to debug.
        log.log(level if self._healthy else logging.DEBUG, message, *args)
        self._healthy = False

    @_callback
    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if message.topic == f"{self.discovery_prefix}/status" and message.payload == ONLINE.encode():
            self._publish_discovery()

    @_callback
    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self._cond:
            if mid in self._inflight:
                self._acked(mid)
            else:
                self._early_acks.add(mid)

    def _acked(self, mid: int) -> None:
        # Called with self._cond held.
        spool_id = self._inflight.pop(mid)
        if spool_id is not None:
            self._events_out -= 1
            self.spool.ack(spool_id)
            self.record_success()
        self._cond.notify_all()

    # --- publishing ---

    def _await_resent(self, generation: int, unacked: Set[int]) -> None:
        """After a connect: once paho's re-sends are acknowledged (or flush_timeout_s), let the pump go on."""
        with self._cond:
            self._cond.wait_for(lambda: generation != self._generation or not unacked & self._inflight.keys(),
                                timeout=self.flush_timeout_s)
            if generation == self._generation:
                self._ready = True
                self._cond.notify_all()

    def _pump(self) -> None:
        """Publish spooled events in order while connected, at most WINDOW unacknowledged."""
        def can_send() -> bool:
            return self._stop_pump or (self._ready and (
                self._state_dirty or (self._events_out < WINDOW and self.spool.unread > 0)))

        while True:
            with self._cond:
                self._cond.wait_for(can_send, timeout=0.5)
                if self._stop_pump:
                    return
                room = WINDOW - self._events_out if self._ready else 0
                state = self._last_state if self._ready and self._state_dirty else None
                self._state_dirty = self._state_dirty and state is None
            try:
                for spool_id, payload in self.spool.take(room) if room > 0 else []:
                    self._send(self.event_topic, payload, False, spool_id)
                if state is not None:
                    self._send(self.state_topic, state, True)
            except Exception:  # a spool that cannot be read (disk error): keep the pump alive, try again
                log.exception("MQTT: cannot send from the spool; retrying in 1 s")
                time.sleep(1.0)

    def _send(self, topic: str, payload: str, retain: bool, spool_id: Optional[int] = None) -> None:
        # Disconnected meanwhile: paho keeps a QoS 1 message and sends it after the reconnect.
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        with self._cond:
            self._inflight[info.mid] = spool_id
            if spool_id is not None:
                self._events_out += 1
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
                self._acked(info.mid)

    def _publish_discovery(self) -> None:
        config = discovery_config(device=self.device, node_id=self.node_id, model=self.model,
                                  state_topic=self.state_topic, availability_topic=self.availability_topic)
        self._send(self.discovery_topic, _compact(config), True)
        for object_id, extra in affect_discovery_configs(
                device=self.device, node_id=self.node_id, model=self.model, state_topic=self.state_topic,
                availability_topic=self.availability_topic).items():
            self._send(f"{self.discovery_prefix}/sensor/{self.node_id}/{object_id}/config", _compact(extra), True)

    def _emit(self, event: Event) -> None:
        before = self.spool.dropped
        self.spool.append(event.to_json())
        if self.spool.dropped > before:  # full: the oldest waiting events made room
            self._count("dropped", self.spool.dropped - before)
        with self._cond:
            if isinstance(event, EmotionEvent):
                self._last_state, self._state_dirty = _compact(state_document(event)), True
            self._cond.notify_all()

    def flush(self, timeout_s: Optional[float] = None) -> bool:
        """Wait up to `timeout_s` seconds (default flush_timeout_s) until everything is acknowledged."""
        timeout = self.flush_timeout_s if timeout_s is None else timeout_s
        with self._cond:
            return self._cond.wait_for(lambda: not self._inflight and not self._state_dirty and self.spool.pending == 0,
                                       timeout=timeout)

    def stats(self) -> Dict[str, int]:
        """The counters (``dropped`` includes events the full spool dropped), plus those waiting in it."""
        return {**super().stats(), "spooled": self.spool.pending}

    @property
    def connected(self) -> bool:
        return bool(self._client.is_connected())

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` seconds for the first connection and everything so far to be acknowledged.

        False at once if the broker refuses us (see `refusal`). Never needed for publishing
        (events wait in the spool); useful for a start-up check or a test.
        """
        deadline = time.monotonic() + timeout_s
        if not self._settled.wait(timeout_s) or self.refusal:
            return False
        return self.flush(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Deliver what is spooled, publish "offline", disconnect cleanly; bounded by flush_timeout_s."""
        if self.closed:
            return
        super().close()
        self._closing = True
        deadline = time.monotonic() + self.flush_timeout_s
        if self.connected:
            self.flush()  # events before "offline"
            self._send(self.availability_topic, OFFLINE, True)
            if not self.flush(max(0.0, deadline - time.monotonic())):
                log.warning("MQTT: %d event(s) not acknowledged at close%s", self.spool.pending, self._kept())
        elif self.spool.pending:
            log.warning("MQTT: closing while disconnected; %d event(s) not delivered%s", self.spool.pending,
                        self._kept())
        with self._cond:
            self._stop_pump = True
            self._cond.notify_all()
        self._client.disconnect()
        self._client.loop_stop()
        self._pump_thread.join(timeout=1.0)
        if self._own_spool:
            self.spool.close()
        else:
            self.spool.rewind()  # whoever takes over the spool sends what we had in flight

    def _kept(self) -> str:
        return "" if isinstance(self.spool, MemorySpool) and self._own_spool else "; kept in the spool"

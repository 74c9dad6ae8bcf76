"""MQTT sink (paho-mqtt 2.x), with Home Assistant discovery and a spool, so no event is lost.

Topics (`ser_edge.sinks.mqtt_payloads.Topics`): P/D/event (every event, QoS 1), retained
P/D/state (the current emotion, with its arousal and valence), retained P/D/availability
("online"/"offline", also the last will) and Home Assistant's retained discovery configs (the
emotion sensor and two numeric sensors, arousal and valence, -1..1), for topic prefix P and device D.

`emit` only appends the event to the sink's spool, never waiting for the network: the
background delivery of `ser_edge.sinks.background` (bounded; when full the oldest waiting
events are dropped, counted). Its pump publishes in order, at most `WINDOW` unacknowledged,
while connected; a record leaves the spool on the broker's PUBACK. After a reconnect paho
re-sends what was in flight first and the pump waits for those acks, so order holds. QoS 1 is
at-least-once: `seq` and `time` (the original event's) tell duplicates apart. With a disk
spool, events not acknowledged at exit are sent at the next start.

A broker that refuses the credentials, or whose TLS certificate is not trusted, is reported
in `refusal` (and retried with back-off, as any outage). paho-mqtt is imported lazily;
without it, a DependencyError names the extra.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Dict, Iterable, Optional, Set

from ser_edge.errors import ConfigError
from ser_edge.events import EmotionEvent, Event, hostname

from .background import BackgroundSink
from .mqtt_client import ClientOptions, import_paho, make_client, probe_tls, refusal_of, tls_context
from .mqtt_payloads import OFFLINE, ONLINE, discovery_messages, state_document, topics_for
from .mqtt_payloads import callback as _callback
from .mqtt_payloads import compact as _compact
from .spool import Spool

log = logging.getLogger(__name__)

QOS = 1
#: events published and not yet acknowledged, at most (paho's own in-flight default)
WINDOW = 20


class MqttSink(BackgroundSink):
    """Publish events to an MQTT broker; see the module doc for the topics.

    Keyword-only; times in seconds. host, port: the broker. client_id: default
    "ser-edge-<node_id>-<pid>". username, password: credentials, if the broker wants them.
    tls (implied by ca_file/cert_file/key_file): the broker's certificate must chain to ca_file
    (or the system's CAs) and name the host, unless tls_insecure (the CA is still checked).
    keepalive_s: the broker fires the last will after ~1.5x this of silence. topic_prefix,
    device (default the host name), model (for Home Assistant's device block), discovery,
    discovery_prefix: see the module doc. spool, max_queued_messages: as spool, queue_size of
    `BackgroundSink`. reconnect_min_s..reconnect_max_s: back-off, doubling. flush_timeout_s: how
    long flush()/close() wait for acknowledgements. event_types: published on the event topic.
    """

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
        super().__init__(name=name, spool=spool, queue_size=max_queued_messages, close_timeout_s=flush_timeout_s,
                         event_types=event_types)
        self._topics = t = topics_for(device or hostname(), topic_prefix, discovery_prefix)
        self.device, self.node_id, self.discovery_prefix = t.device, t.node_id, t.discovery_prefix
        self.event_topic, self.state_topic, self.availability_topic, self.discovery_topic = \
            t.event, t.state, t.availability, t.discovery
        self.discovery, self.model, self.host, self.port = discovery, model, host, port
        self.flush_timeout_s = flush_timeout_s
        # Guards what follows; taken before the spool's lock, never held while calling into paho.
        self._cond = threading.Condition()
        self._inflight: Dict[int, Optional[int]] = {}  # paho mid -> spool id (None: not an event)
        self._events_out = 0  # events among them
        self._early_acks: Set[int] = set()  # acks that beat publish() returning
        self._ready = False  # connected and what paho re-sent is acknowledged: the pump may publish
        self._generation = 0  # bumped on every (dis)connect
        self._closing = False
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
        self._start_worker("ser-edge-mqtt-pump")
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

    def _run(self) -> None:
        """The pump: publish spooled events in order while connected, at most WINDOW unacknowledged."""
        def can_send() -> bool:
            return self._stopping.is_set() or (self._ready and (
                self._state_dirty or (self._events_out < WINDOW and self.spool.unread > 0)))

        while True:
            with self._cond:
                self._cond.wait_for(can_send, timeout=0.5)
                if self._stopping.is_set():
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
        for topic, payload in discovery_messages(self._topics, self.model):
            self._send(topic, payload, True)

    def _queued(self, event: Event) -> None:
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

    def _drain(self, deadline: float) -> None:
        """Deliver what is spooled, then publish "offline", until ``deadline``."""
        self._closing = True
        if self.connected:
            self.flush(max(0.0, deadline - time.monotonic()))  # events before "offline"
            self._send(self.availability_topic, OFFLINE, True)
            self.flush(max(0.0, deadline - time.monotonic()))

    def _stop_worker(self, deadline: float) -> None:
        """Stop the pump, disconnect cleanly."""
        with self._cond:
            self._cond.notify_all()  # the pump sees _stopping
        self._client.disconnect()
        self._client.loop_stop()
        super()._stop_worker(max(deadline, time.monotonic() + 0.5))


def from_settings(m: Any, ctx: Any) -> Optional[MqttSink]:
    """The sink [sinks.mqtt] asks for (`MqttSinkSettings`), None if off (see `ser_edge.sinks.build`)."""
    if not enabled(m):
        return None
    return MqttSink(host=m.host, port=m.port, client_id=m.client_id or None, username=m.username or None,
                    password=ctx.secret("mqtt") or None, tls=m.tls, ca_file=m.ca_file or None,
                    cert_file=m.cert_file or None, key_file=m.key_file or None, tls_insecure=m.tls_insecure,
                    keepalive_s=m.keepalive_s, topic_prefix=m.topic_prefix, device=ctx.device, model=ctx.model_id,
                    discovery=m.discovery, discovery_prefix=m.discovery_prefix, flush_timeout_s=m.flush_timeout_s,
                    reconnect_max_s=m.reconnect_max_s, event_types=m.event_types, spool=ctx.spool)


def enabled(m: Any) -> bool:
    """Whether [sinks.mqtt] turns the sink on."""
    return bool(m.host)

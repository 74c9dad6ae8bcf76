"""The sinks the [sinks.*] settings ask for, built at start (and on reload), plus a log sink.

Any number at once: stdout (JSON lines, on by default), readable lines on stderr, a JSONL
file, MQTT, a webhook and a command hook. The sinks themselves live in `ser_edge.sinks`;
this module only maps settings to their constructors.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Iterable, Optional

from .events import EmotionEvent, Event, SpeechEndEvent, SpeechStartEvent, StatusEvent
from .settings import SinkSettings
from .sinks import CommandSink, JsonlFileSink, MultiSink, StdoutSink, WebhookSink
from .sinks.base import BaseSink


def describe_event(event: Event) -> str:
    """One human line for an event (audio times in s, latencies in ms)."""
    if isinstance(event, EmotionEvent):
        return f"emotion {event.label} {event.confidence:.2f} ({event.start_s:.2f}-{event.end_s:.2f} s)"
    if isinstance(event, SpeechStartEvent):
        return f"speech start at {event.start_s:.2f} s"
    if isinstance(event, SpeechEndEvent):
        return f"speech end ({event.start_s:.2f}-{event.end_s:.2f} s)"
    if isinstance(event, StatusEvent):
        latency = "" if event.latency_p50_ms is None else \
            f", window latency p50 {event.latency_p50_ms:.2f} ms p95 {event.latency_p95_ms:.2f} ms"
        return (f"status: {event.audio_s:.1f} s audio, {event.audio_dropped_s:.2f} s dropped, "
                f"{event.windows_classified} windows{latency}")
    return event.to_json()


class LogSink(BaseSink):
    """Events as readable lines on stderr (the journal under systemd), never on stdout."""

    def __init__(self, *, stream: Optional[IO[str]] = None, event_types: Optional[Iterable[str]] = None,
                 name: str = "log") -> None:
        super().__init__(name=name, event_types=event_types)
        self._stream = stream

    def _emit(self, event: Event) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        stream.write(f"{stamp} event #{event.seq}: {describe_event(event)}\n")
        stream.flush()


def build_sinks(s: SinkSettings, *, device: str, model_id: str, stdout: Optional[IO[str]] = None) -> MultiSink:
    """A MultiSink over every enabled sink (ConfigError/DependencyError if one cannot be made).

    device: name for MQTT topics; model_id: shown in Home Assistant's device block.
    """
    sinks = MultiSink()
    try:
        if s.stdout.enabled:
            sinks.add(StdoutSink(stream=stdout, event_types=s.stdout.event_types))
        if s.log.enabled:
            sinks.add(LogSink(event_types=s.log.event_types))
        if s.file.path:
            sinks.add(JsonlFileSink(path=s.file.path, event_types=s.file.event_types))
        if s.mqtt.host:
            sinks.add(_mqtt(s, device, model_id))
        if s.webhook.url:
            w = s.webhook
            sinks.add(WebhookSink(url=w.url, headers=w.headers, timeout_s=w.timeout_s, retries=w.retries,
                                  close_timeout_s=w.close_timeout_s, event_types=w.event_types))
        if s.command.argv:
            c = s.command
            sinks.add(CommandSink(argv=c.argv, timeout_s=c.timeout_s, close_timeout_s=c.close_timeout_s,
                                  event_types=c.event_types))
    except BaseException:
        sinks.close()  # do not leave threads or connections behind
        raise
    return sinks


def _mqtt(s: SinkSettings, device: str, model_id: str) -> BaseSink:
    from .sinks import MqttSink  # imports paho lazily, on construction

    m = s.mqtt
    return MqttSink(host=m.host, port=m.port, client_id=m.client_id or None, username=m.username or None,
                    password=m.password or None, tls=m.tls, ca_file=m.ca_file or None, cert_file=m.cert_file or None,
                    key_file=m.key_file or None, tls_insecure=m.tls_insecure, keepalive_s=m.keepalive_s,
                    topic_prefix=m.topic_prefix, device=device, model=model_id, discovery=m.discovery,
                    discovery_prefix=m.discovery_prefix, flush_timeout_s=m.flush_timeout_s,
                    event_types=m.event_types)


def failures(sinks: MultiSink) -> int:
    """Events the sinks failed to deliver or dropped, summed."""
    return sum(st.get("failed", 0) + st.get("dropped", 0) for st in sinks.stats().values())

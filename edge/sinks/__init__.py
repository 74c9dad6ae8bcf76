"""Where events go: stdout, a JSONL file, MQTT, a webhook, a command hook.

Every sink follows `Sink` (emit/flush/close), never raises into the pipeline
for a transport fault, and counts its failures; `MultiSink` fans out to many.
The command hook, the webhook and MQTT deliver in the background from a bounded spool
(`BackgroundSink`, one design and one overflow rule: the oldest waiting event is dropped).
The MQTT sink imports paho-mqtt only when it is constructed. How a [sinks.*] section
becomes a sink: `ser_edge.sinks.build`.
"""

from .background import BackgroundSink
from .base import BaseSink, MultiSink, Sink, check_event_types
from .command import CommandSink
from .mqtt import MqttSink
from .stream import JsonlFileSink, StdoutSink
from .webhook import WebhookSink

__all__ = [
    "BackgroundSink",
    "BaseSink",
    "CommandSink",
    "JsonlFileSink",
    "MqttSink",
    "MultiSink",
    "Sink",
    "StdoutSink",
    "WebhookSink",
    "check_event_types",
]

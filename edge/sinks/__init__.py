"""Where events go: stdout, a JSONL file, MQTT, a webhook, a command hook.

Every sink follows `Sink` (emit/flush/close), never raises into the pipeline
for a transport fault, and counts its failures; `MultiSink` fans out to many.
The MQTT sink imports paho-mqtt only when it is constructed.
"""

from .base import BaseSink, MultiSink, Sink, check_event_types
from .command import CommandSink
from .mqtt import MqttSink
from .queued import QueuedSink
from .stream import JsonlFileSink, StdoutSink
from .webhook import WebhookSink

__all__ = [
    "BaseSink",
    "CommandSink",
    "JsonlFileSink",
    "MqttSink",
    "MultiSink",
    "QueuedSink",
    "Sink",
    "StdoutSink",
    "WebhookSink",
    "check_event_types",
]

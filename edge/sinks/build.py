"""The sinks the [sinks.*] settings ask for, built at start (and on reload), plus a log sink,
and the spools ([spool]) where MQTT and webhook events wait for their receiver.

Any number of sinks at once: stdout (JSON lines, on by default), readable lines on stderr, a
JSONL file, MQTT, a webhook and a command hook. Table-driven: `SINKS` maps every section of
`SinkSettings` to the builder of its sink, ``(section, ctx) -> sink or None`` (None when the
section leaves it off), and the sinks are built in the sections' declaration order; a sink in
`SPOOLED` (with the check whether its section turns it on) gets the listener's spool in
``ctx.spool``. So a new sink is one module in ``sinks/``, its settings section and a row in
each table (CONTRIBUTING.md). Spools belong to the listener, not to a sink, so that a reload
which rebuilds the sinks hands their waiting events on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Callable, Iterable, Mapping, Optional

from ser_edge.config.settings import Settings, SinkSettings, SpoolSettings
from ser_edge.errors import ConfigError
from ser_edge.events import Event, describe_event
from ser_edge.sinks import MultiSink

from . import command, mqtt, webhook
from .base import BaseSink, Sink
from .spool import MemorySpool, Spool
from .stream import file_from_settings, stdout_from_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildContext:
    """What a sink may need besides its own section."""

    device: str  # for MQTT topics
    model_id: str  # shown in Home Assistant's device block
    stdout: Optional[IO[str]] = None  # None: sys.stdout at each write
    spool: Optional[Spool] = None  # the listener's spool for this sink (those in SPOOLED)
    secret: Callable[[str], str] = lambda name: ""  # the password of sink ``name``, read when it is built


def sink_names() -> tuple[str, ...]:
    """The [sinks.*] sections, in the order their sinks are built."""
    return tuple(f.name for f in dataclasses.fields(SinkSettings))


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


def log_from_settings(s: Any, ctx: BuildContext) -> Optional[LogSink]:
    """The sink [sinks.log] asks for, None if off."""
    return LogSink(event_types=s.event_types) if s.enabled else None


#: [sinks.<name>] -> the builder of its sink, ``(section, ctx) -> sink or None``. A sink module
#: imports its optional package (paho-mqtt) only when the sink is made, never at import.
SINKS: Mapping[str, Callable[[Any, BuildContext], Optional[Sink]]] = MappingProxyType({
    "stdout": stdout_from_settings,
    "log": log_from_settings,
    "file": file_from_settings,
    "mqtt": mqtt.from_settings,
    "webhook": webhook.from_settings,
    "command": command.from_settings,
})
#: the sinks that deliver from the listener's spool ([spool]) -> whether their section turns them on
SPOOLED: Mapping[str, Callable[[Any], bool]] = MappingProxyType({
    "mqtt": mqtt.enabled,
    "webhook": webhook.enabled,
})


def build_sinks(s: SinkSettings, *, device: str, model_id: str, stdout: Optional[IO[str]] = None,
                spools: Optional[Mapping[str, Spool]] = None) -> MultiSink:
    """A MultiSink over every enabled sink (ConfigError/DependencyError if one cannot be made).

    device: name for MQTT topics; model_id: shown in Home Assistant's device block;
    spools: by sink name (see `open_spools`); a sink without one keeps a small one in memory.
    """
    spools = spools or {}
    sinks = MultiSink()
    try:
        for name in sink_names():
            ctx = BuildContext(device=device, model_id=model_id, stdout=stdout, spool=spools.get(name),
                               secret=lambda _name: mqtt_password(s))
            sink = SINKS[name](getattr(s, name), ctx)
            if sink is not None:
                sinks.add(sink)
    except BaseException:
        sinks.close()  # do not leave threads or connections behind
        raise
    return sinks


def mqtt_password(s: SinkSettings) -> str:
    """The MQTT password: from password_file (checked: see `ser_edge.sinks.secretfile`) or the key."""
    from .secretfile import read_secret_file

    if s.mqtt.password_file:
        return read_secret_file(s.mqtt.password_file, "sinks.mqtt.password_file")
    return s.mqtt.password


def wait_for_brokers(sinks: MultiSink, timeout_s: float, *, strict: bool = True) -> None:
    """Give network sinks up to ``timeout_s`` seconds each to connect. A broker that refuses us
    for good (credentials, TLS trust) is a ConfigError if ``strict``, after closing ``sinks``."""
    for sink in sinks.sinks:
        wait = getattr(sink, "wait_connected", None)
        if wait is None or wait(timeout_s):
            continue
        refusal = getattr(sink, "refusal", None)
        if refusal and strict:
            sinks.close()
            raise ConfigError(f"sinks.{sink.name}: broker {sink.host}:{sink.port}: {refusal}")  # type: ignore
        log.warning("%s sink: %s; its events wait in its spool", sink.name,
                    refusal or ("still delivering" if getattr(sink, "connected", False) else
                                f"not connected after {timeout_s:.0f} s"))


# ----- spools ----------------------------------------------------------------------------------
def spool_dir(s: SpoolSettings, environ: Mapping[str, str] = os.environ) -> Optional[Path]:
    """The on-disk spool folder: spool.dir, else ``$STATE_DIRECTORY/spool`` (systemd's
    StateDirectory=), else None (spools in memory only)."""
    if s.dir:
        return Path(s.dir).expanduser()
    state = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state) / "spool" if state else None


def wanted_spools(s: Settings) -> tuple[str, ...]:
    """The names of the enabled sinks that deliver from a spool (those in `SPOOLED`)."""
    return tuple(name for name in sink_names() if name in SPOOLED and SPOOLED[name](getattr(s.sinks, name)))


def open_spools(s: Settings, current: Optional[Mapping[str, Spool]] = None) -> dict[str, Spool]:
    """A spool per enabled spooled sink. One of ``current`` in the same place (memory, or the same
    folder) is kept, with the new bounds; ConfigError if a disk spool cannot be used. The caller
    closes the ones of ``current`` not returned."""
    current = current or {}
    folder = spool_dir(s.spool)
    spools: dict[str, Spool] = {}
    try:
        for name in wanted_spools(s):
            bounds = {"max_events": s.spool.max_events, "max_bytes": int(s.spool.max_mb * 1e6)}
            where = folder / name if folder is not None else None
            old = current.get(name)
            if old is not None and getattr(old, "folder", None) == where:
                old.max_events, old.max_bytes = bounds["max_events"], bounds["max_bytes"]
                spools[name] = old
            elif where is None:
                spools[name] = MemorySpool(name=name, **bounds)
            else:
                from .spool_disk import DiskSpool

                spools[name] = DiskSpool(where, fsync=s.spool.fsync, name=name, **bounds)
    except BaseException:
        close_spools({k: v for k, v in spools.items() if v is not current.get(k)})
        raise
    return spools


def close_spools(spools: Mapping[str, Spool]) -> int:
    """Close them; the number of waiting events that closing lost (memory spools, a full disk's)."""
    return sum(spool.close() for spool in spools.values())


def failures(sinks: MultiSink) -> int:
    """Events the sinks failed to deliver or dropped (a full spool's drops included), summed."""
    return sum(st.get("failed", 0) + st.get("dropped", 0) for st in sinks.stats().values())

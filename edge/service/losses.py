"""Counting what the outputs lose: the figures a status event carries, and the account of a shutdown.

Status events carry ``extra.sink_failures`` (events the sinks failed to deliver or dropped),
``extra.spool_pending`` (events waiting for MQTT/webhook) and ``extra.spool_dropped`` (events a
full spool dropped, the oldest first). They are taken just before the status event goes out,
after the events ahead of it in its batch, and they include the drop its own append causes, so
the final status counts every event a full spool dropped: the room it needs in each spool is
made (the oldest dropped, counted) before its counts are taken, and acknowledgements arriving
meanwhile only make more room, so its own append drops nothing more.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Mapping, Optional

from ser_edge.events import Event, StatusEvent
from ser_edge.sinks import BackgroundSink, MultiSink
from ser_edge.sinks.build import failures
from ser_edge.sinks.spool import Spool

log = logging.getLogger(__name__)


def status_counts(sinks: Optional[MultiSink], spools: Mapping[str, Spool]) -> dict:
    """sink_failures, spool_pending, spool_dropped as of now."""
    extra: dict = {}
    if sinks is not None:
        extra["sink_failures"] = failures(sinks)
    if spools:
        extra["spool_pending"] = sum(spool.pending for spool in spools.values())
        extra["spool_dropped"] = sum(spool.dropped for spool in spools.values())
    return extra


def with_counts(event: Event, sinks: MultiSink, spools: Mapping[str, Spool]) -> Event:
    """A status event with its `status_counts` taken as it goes out, the room it needs in each
    spool made first (so its own drops are counted); other events as they are."""
    if not isinstance(event, StatusEvent):
        return event
    for sink in sinks.sinks:
        if isinstance(sink, BackgroundSink):
            sink.make_room(event)
    return dataclasses.replace(event, extra={**event.extra, **status_counts(sinks, spools)})


def at_risk(sinks: Optional[MultiSink], spools: Mapping[str, Spool]) -> str:
    """What ending the process right now loses, as a phrase: events in memory lost, on disk kept."""
    lost = kept = 0
    for spool in spools.values():
        held = getattr(spool, "held", 0)
        lost += held if spool.durable else spool.pending
        kept += spool.pending - held if spool.durable else 0
    for sink in sinks.sinks if sinks is not None else ():
        if isinstance(sink, BackgroundSink) and sink.owns_spool and not sink.spool.closed:
            lost += sink.spool.pending
    return describe(lost, kept)


def close_outputs(sinks: MultiSink, spools: Mapping[str, Spool], timeout_s: float) -> None:
    """Close the sinks within ``timeout_s`` s (shared), then the spools; log one line with what was lost."""
    sinks.close(timeout_s)
    lost = sum(s.lost for s in sinks.sinks if isinstance(s, BackgroundSink))
    kept = 0
    for spool in spools.values():
        waiting = spool.pending
        gone = spool.close()
        lost += gone
        kept += waiting - gone if spool.durable else 0
    if lost:
        log.warning("shutdown: %s", describe(lost, kept))
    elif kept:
        log.info("shutdown: %s", describe(lost, kept))


def describe(lost: int, kept: int) -> str:
    """"N event(s) lost[, M on disk for the next start]"."""
    line = f"{lost} event(s) lost"
    return line + (f", {kept} on disk for the next start" if kept else "")

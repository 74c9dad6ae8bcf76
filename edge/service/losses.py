"""Counting what the outputs lose: the figures a status event carries, and the account of a shutdown.

Status events carry ``extra.sink_failures`` (events the sinks failed to deliver or dropped),
``extra.spool_pending`` (events waiting for MQTT/webhook) and ``extra.spool_dropped`` (events a
full spool dropped, the oldest first). They are taken just before the status event goes out,
after the events ahead of it in its batch, and they include the drop its own append causes, so
the final status counts every event a full spool dropped.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Mapping, Optional

from ser_edge.listen.events import Event, StatusEvent
from ser_edge.sinks import BackgroundSink, MultiSink
from ser_edge.sinks.build import failures
from ser_edge.sinks.spool import Spool

log = logging.getLogger(__name__)


def status_counts(sinks: Optional[MultiSink], spools: Mapping[str, Spool], upcoming: Optional[Event] = None) -> dict:
    """sink_failures, spool_pending, spool_dropped, counting the drops ``upcoming`` is about to cause."""
    ahead: dict[int, int] = {}  # id(spool) -> records the append of ``upcoming`` will drop
    if upcoming is not None and sinks is not None:
        payload = upcoming.to_json()
        for sink in sinks.sinks:
            spool = getattr(sink, "spool", None)
            if isinstance(sink, BackgroundSink) and not sink.closed and sink.accepts(upcoming) and spool is not None:
                ahead[id(spool)] = spool.would_drop(payload)
    extra: dict = {}
    if sinks is not None:
        extra["sink_failures"] = failures(sinks) + sum(ahead.values())
    if spools:
        extra["spool_pending"] = sum(spool.pending for spool in spools.values())
        extra["spool_dropped"] = sum(spool.dropped + ahead.get(id(spool), 0) for spool in spools.values())
    return extra


def with_counts(event: Event, sinks: MultiSink, spools: Mapping[str, Spool]) -> Event:
    """A status event with its `status_counts` taken now (its own drops included); other events as they are."""
    if not isinstance(event, StatusEvent):
        return event
    return dataclasses.replace(event, extra={**event.extra, **status_counts(sinks, spools, event)})


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

"""One human line for an event: what the log sink writes and systemd's STATUS= shows."""

from __future__ import annotations

from .event import EmotionEvent, Event, SpeechEndEvent, SpeechStartEvent, StatusEvent


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

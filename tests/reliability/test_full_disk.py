"""A disk spool on a full disk (issue 15 item 5): a real 64 KiB tmpfs as the spool folder.

A short write is cut back (no torn record), events wait in memory while the disk is full and
are delivered from there, every loss is counted, and the oldest are the ones dropped.
"""

from __future__ import annotations

import json
import logging
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from ser_edge.sinks.spool_disk import DiskSpool

from ..mosquitto import HOST, Broker
from .support import DurableSubscriber, first_seen

DISK_BYTES = 64 << 10


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs mounted for the test (needs root, or CAP_SYS_ADMIN)."""
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode}): "
                    "needs root or CAP_SYS_ADMIN")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def event(i: int) -> str:
    return json.dumps({"type": "status", "seq": i, "pad": "x" * 150}, separators=(",", ":"))


def seqs(records: list) -> list:
    return [json.loads(payload)["seq"] for _, payload in records]


def stored_lines(folder: Path) -> list[bytes]:
    data = b"".join(p.read_bytes() for p in sorted(folder.glob("*.jsonl")))
    return data.split(b"\n")


def test_a_full_disk_cuts_no_record_and_keeps_events_in_memory(small_disk: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    folder = small_disk / "mqtt"
    spool = DiskSpool(folder, max_events=10_000, max_bytes=20 << 20, fsync="always", name="mqtt")
    n = 1000  # about 200 kB: three times the disk
    for i in range(n):
        spool.append(event(i))  # never raises into the sink
    lines = stored_lines(folder)
    assert lines[-1] == b"", "a torn record at the end of the segment"
    on_disk = [json.loads(line)["event"]["seq"] for line in lines[:-1]]  # every stored line is whole
    assert 0 < len(on_disk) < n and on_disk == list(range(len(on_disk)))
    assert spool.pending == n and spool.dropped == 0
    taken = spool.take(n)
    assert seqs(taken) == list(range(n))  # from disk, then from memory, in order
    for record_id, _ in taken[:10]:
        spool.ack(record_id)
    with caplog.at_level(logging.WARNING):
        spool.close()
    lost = n - len(on_disk)
    assert any(f"{lost} event(s)" in r.message and "lost" in r.message for r in caplog.records), caplog.text
    again = DiskSpool(folder, max_events=10_000, max_bytes=20 << 20, name="mqtt")
    back = seqs(again.take(n))
    # every record on disk comes back whole; the 10 acknowledged ones may come again (the
    # cursor did not fit on the full disk either: at-least-once)
    assert again.corrupt == 0 and back == list(range(back[0], len(on_disk))) and back[0] <= 10
    again.close()


def test_a_full_disk_and_a_full_spool_drop_the_oldest_and_count_each(small_disk: Path) -> None:
    spool = DiskSpool(small_disk / "mqtt", max_events=300, max_bytes=20 << 20, fsync="never", name="mqtt")
    for i in range(1000):
        spool.append(event(i))
    assert spool.pending == 300 and spool.dropped == 700
    assert seqs(spool.take(1000)) == list(range(700, 1000))
    spool.close()


def test_listen_with_its_spool_on_a_full_disk_delivers_every_event(running, small_disk: Path, tmp_path: Path) -> None:
    """The broker is there all along; a spool segment outgrows the 64 KiB disk within seconds."""
    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt not installed (pip install 'ser-edge[mqtt]')")
    broker = Broker(tmp_path, persistent=True)
    device, jsonl = f"full-{uuid.uuid4().hex[:6]}", tmp_path / "events.jsonl"
    sub = DurableSubscriber(broker.port, f"ser-edge/{device}/event")
    try:
        listener = running("--stdin", "--no-stdout", "--device-name", device, "--mqtt-host", HOST,
                           "--mqtt-port", str(broker.port), "--mqtt-flush-timeout-s", "10",
                           "--status-interval", "0.05", "--jsonl", str(jsonl), "--spool-dir", str(small_disk))
        assert listener.log_has("MQTT connected"), listener.stderr()
        noise = (np.random.default_rng(1).normal(0, 0.001, 16000 * 30) * 32767).astype("<i2").tobytes()
        listener.feed(noise)  # 30 s of quiet audio: 600 status events, about 300 kB of spool records
        assert listener.end(60) == 0, listener.stderr()
        events = [json.loads(line) for line in jsonl.read_text().splitlines()]
        assert len(events) >= 600
        got = [json.loads(p) for p in first_seen(sub.wait(len(events)))]
        assert got == events, listener.stderr()[-3000:]
        assert events[-1]["extra"]["spool_dropped"] == 0 and events[-1]["extra"]["sink_failures"] == 0
    finally:
        sub.close()
        broker.stop()


def test_the_jsonl_file_on_a_full_disk_keeps_whole_lines_only(small_disk: Path) -> None:
    """Issue 24 item 11: a short write is cut back, so the next event after the disk has room again
    starts a line of its own; the events that did not fit are counted as failed."""
    from ser_edge.events import EventFactory
    from ser_edge.sinks.stream import JsonlFileSink

    clock = iter(range(1_700_000_000, 1_800_000_000))
    factory = EventFactory(model_id="crnn-test", model_sha256="0123456789abcdef" * 4, device="x" * 300,
                           clock=lambda: float(next(clock)))
    filler = small_disk / "filler"
    filler.write_bytes(bytes(24 << 10))
    path = small_disk / "events.jsonl"
    sink = JsonlFileSink(path=path)
    sent = [factory.speech_start(start_s=float(i)) for i in range(200)]  # ~80 kB: more than the disk
    for event in sent:
        sink.emit(event)
    failed = sink.stats()["failed"]
    assert 0 < failed < len(sent)
    filler.unlink()  # room again
    later = [factory.speech_start(start_s=1000.0 + i) for i in range(10)]
    for event in later:
        sink.emit(event)
    sink.close()
    assert sink.stats()["failed"] == failed
    data = path.read_bytes()
    assert data.endswith(b"\n")
    seqs = [json.loads(line)["seq"] for line in data.splitlines()]  # every line whole
    kept = len(sent) - failed
    assert seqs == [e.seq for e in sent[:kept]] + [e.seq for e in later]

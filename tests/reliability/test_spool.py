"""Spools: order, acknowledgements, bounds, rewinds, and a disk spool that survives restarts and crashes."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ser_edge.errors import ConfigError
from ser_edge.sinks.spool import MemorySpool, record_line
from ser_edge.sinks.spool_disk import DiskSpool


def event(i: int) -> str:
    return json.dumps({"type": "status", "seq": i, "time": f"t{i}"}, separators=(",", ":"))


def seqs(records: list) -> list:
    return [json.loads(payload)["seq"] for _, payload in records]


@pytest.fixture(params=["memory", "disk"])
def make(request, tmp_path: Path):
    made = []

    def build(**kwargs):
        kwargs.setdefault("max_events", 100)
        kwargs.setdefault("max_bytes", 1 << 20)
        folder = tmp_path / f"spool{len(made)}"
        spool = MemorySpool(**kwargs) if request.param == "memory" else DiskSpool(folder, **kwargs)
        made.append(spool)
        return spool

    yield build
    for spool in made:
        spool.close()


def test_records_come_out_in_order_and_leave_once_acknowledged(make) -> None:
    spool = make()
    for i in range(10):
        spool.append(event(i))
    taken = spool.take(4)
    assert seqs(taken) == [0, 1, 2, 3] and spool.pending == 10 and spool.unread == 6
    spool.ack(taken[1][0])  # out of order: held until the older one is done
    assert spool.pending == 10
    spool.ack(taken[0][0])
    assert spool.pending == 8
    spool.ack(taken[0][0])  # repeated ack: ignored
    assert spool.pending == 8
    spool.rewind()  # a new connection: what was in flight comes again, then the rest
    assert seqs(spool.take(100)) == list(range(2, 10))


def test_bounds_drop_the_oldest_and_count_them(make) -> None:
    spool = make(max_events=5)
    for i in range(12):
        spool.append(event(i))
    assert spool.pending == 5 and spool.dropped == 7
    assert seqs(spool.take(100)) == [7, 8, 9, 10, 11]
    last_three = sum(len(record_line(i, event(i + 9))) for i in (8, 9, 10))  # ids count from 1
    by_bytes = make(max_events=1000, max_bytes=last_three)
    for i in range(10, 20):
        by_bytes.append(event(i))
    assert by_bytes.pending == 3 and by_bytes.dropped == 7 and by_bytes.pending_bytes <= by_bytes.max_bytes


def test_wait_wakes_on_append(make) -> None:
    spool = make()
    assert not spool.wait(0.05)
    threading.Timer(0.05, spool.append, args=(event(1),)).start()
    assert spool.wait(5.0) and spool.wait_empty(0.01) is False


def test_disk_spool_survives_a_restart_in_order_and_deletes_delivered_segments(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = DiskSpool(folder, max_events=64, max_bytes=1 << 20)  # 4 events per segment
    for i in range(20):
        spool.append(event(i))
    for record_id, _ in spool.take(9):
        spool.ack(record_id)
    spool.take(3)  # in flight at exit: not acknowledged, so sent again
    spool.close()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.glob("*.jsonl"))
    assert len(list(folder.glob("*.jsonl"))) == 3  # the segments of events 0-7 are gone
    again = DiskSpool(folder, max_events=64, max_bytes=1 << 20)
    assert again.pending == 11 and seqs(again.take(100)) == list(range(9, 20))
    new_id = again.append(event(20))
    assert new_id == 21  # ids go on: never reused
    again.close()


def test_torn_last_line_is_cut_and_garbage_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = DiskSpool(folder, max_events=1000, max_bytes=1 << 20)
    for i in range(3):
        spool.append(event(i))
    spool.close()
    (segment,) = folder.glob("*.jsonl")
    lines = segment.read_bytes().split(b"\n")
    segment.write_bytes(lines[0] + b"\n" + b"\x00garbage\n" + lines[2] + b"\n" + b'{"id":9,"ev')  # power cut mid-write
    again = DiskSpool(folder, max_events=1000, max_bytes=1 << 20)
    taken = again.take(100)
    assert seqs(taken) == [0, 2]
    for record_id, _ in taken:
        again.ack(record_id)
    assert again.corrupt == 1 and again.pending == 0
    assert segment.read_bytes().endswith(b"\n")
    again.append(event(3))
    assert seqs(again.take(100)) == [3]
    again.close()


def test_one_process_per_spool_folder(tmp_path: Path) -> None:
    first = DiskSpool(tmp_path / "spool")
    with pytest.raises(ConfigError, match="in use by another ser-edge process"):
        DiskSpool(tmp_path / "spool")
    first.close()
    DiskSpool(tmp_path / "spool").close()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=f"spool.dir {blocker}/x: cannot use it"):
        DiskSpool(blocker / "x")


class DiskSpoolModel(RuleBasedStateMachine):
    """A disk spool against a plain list, through appends, takes, acks, rewinds, drops and restarts."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"spool-model-{os.getpid()}-{id(self)}"

    @initialize(max_events=st.integers(1, 12))
    def start(self, max_events: int) -> None:
        self.max_events = max_events
        self.spool = DiskSpool(self.folder, max_events=max_events, max_bytes=1 << 20, fsync="never")
        self.waiting: list[int] = []  # seq of pending events, oldest first
        self.taken: list[tuple[int, int]] = []  # (id, seq) handed out since the last rewind
        self.seq = 0

    @rule(n=st.integers(1, 5))
    def append(self, n: int) -> None:
        for _ in range(n):
            self.spool.append(event(self.seq))
            self.waiting.append(self.seq)
            self.seq += 1
        lost = self.waiting[: max(0, len(self.waiting) - self.max_events)]
        self.waiting = self.waiting[len(lost):]
        self.taken = [(i, s) for i, s in self.taken if s not in lost]

    @rule(limit=st.integers(1, 6))
    def take(self, limit: int) -> None:
        got = self.spool.take(limit)
        expected = [s for s in self.waiting if s not in {s for _, s in self.taken}][:limit]
        assert seqs(got) == expected
        self.taken += [(record_id, json.loads(p)["seq"]) for record_id, p in got]

    @precondition(lambda self: self.taken)
    @rule(data=st.data())
    def ack(self, data) -> None:
        record_id, seq = data.draw(st.sampled_from(self.taken))
        self.spool.ack(record_id)
        self.acked = getattr(self, "acked", set()) | {seq}
        while self.taken and self.taken[0][1] in self.acked and self.waiting and self.waiting[0] == self.taken[0][1]:
            self.waiting.pop(0)
            self.taken.pop(0)

    @rule()
    def rewind(self) -> None:
        self.spool.rewind()
        self.taken, self.acked = [], set()

    @rule()
    def restart(self) -> None:
        self.spool.close()
        self.spool = DiskSpool(self.folder, max_events=self.max_events, max_bytes=1 << 20, fsync="never")
        self.taken, self.acked = [], set()

    @invariant()
    def counts_match(self) -> None:
        if hasattr(self, "spool"):
            assert self.spool.pending == len(self.waiting)

    def teardown(self) -> None:
        if hasattr(self, "spool"):
            self.spool.close()
        for path in self.folder.glob("*"):
            path.unlink()
        if self.folder.exists():
            self.folder.rmdir()


TestDiskSpoolModel = DiskSpoolModel.TestCase
TestDiskSpoolModel.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])


def test_spool_folder_defaults_to_systemds_state_directory_else_memory(tmp_path: Path) -> None:
    from ser_edge.config.settings import SpoolSettings
    from ser_edge.sinks.build import spool_dir

    assert spool_dir(SpoolSettings(), {}) is None
    assert spool_dir(SpoolSettings(), {"STATE_DIRECTORY": "/var/lib/ser-edge:/var/lib/x"}) == \
        Path("/var/lib/ser-edge/spool")
    assert spool_dir(SpoolSettings(dir=str(tmp_path)), {"STATE_DIRECTORY": "/x"}) == tmp_path


def test_a_reload_keeps_spools_that_stay_in_place(tmp_path: Path) -> None:
    from ser_edge.config.load import load_settings
    from ser_edge.sinks.build import close_spools, open_spools

    mqtt = {("sinks", "mqtt", "host"): "h"}
    memory = open_spools(load_settings(None, mqtt))
    memory["mqtt"].append(event(1))
    again = open_spools(load_settings(None, {**mqtt, ("spool", "max_events"): 50}), memory)
    assert again["mqtt"] is memory["mqtt"] and again["mqtt"].max_events == 50 and again["mqtt"].pending == 1
    on_disk = open_spools(load_settings(None, {**mqtt, ("spool", "dir"): str(tmp_path)}), again)
    assert isinstance(on_disk["mqtt"], DiskSpool) and on_disk["mqtt"].folder == tmp_path / "mqtt"
    assert open_spools(load_settings(None, {})) == {}  # no MQTT, no webhook: no spool
    close_spools(on_disk)
    close_spools(again)


def test_make_room_drops_now_what_the_next_append_would_and_waits_for_acks_in_flight(make) -> None:
    spool = make(max_events=5)
    for i in range(5):
        spool.append(event(i))
    assert spool.make_room(event(5)) == 1 and spool.dropped == 1
    spool.append(event(5))
    in_flight = spool.take(100)
    assert spool.dropped == 1 and seqs(in_flight) == [1, 2, 3, 4, 5]
    threading.Timer(0.05, spool.ack, args=(in_flight[0][0],)).start()  # the broker's ack is on its way
    assert spool.make_room(event(6)) == 0 and spool.dropped == 1  # delivered, not dropped

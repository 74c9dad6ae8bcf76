"""Files ser-edge writes are private whatever the umask (issue 15 item 10): the JSONL output and
the folders made for it, the spool cursor, the clips folder (an existing open one is tightened)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from ser_edge.config.settings import ClipSettings
from ser_edge.service.recorder import ClipRecorder
from ser_edge.sinks.spool_disk import DiskSpool
from ser_edge.sinks.stream import JsonlFileSink


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000: whatever is not made private on purpose comes out world-writable."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_jsonl_output_and_the_folders_made_for_it_are_private(open_umask: None, tmp_path: Path) -> None:
    path = tmp_path / "made" / "for it" / "events.jsonl"
    sink = JsonlFileSink(path=path)
    sink.close()
    assert (mode(path), mode(path.parent), mode(path.parent.parent)) == (0o600, 0o700, 0o700)


def test_spool_cursor_and_the_folders_made_for_the_spool_are_private(open_umask: None, tmp_path: Path) -> None:
    folder = tmp_path / "state" / "spool" / "mqtt"
    spool = DiskSpool(folder, max_events=100, max_bytes=1 << 20)
    spool.append('{"type":"status","seq":1}')
    for record_id, _ in spool.take(1):
        spool.ack(record_id)
    spool.close()
    assert mode(folder / "cursor") == 0o600
    assert [mode(p) for p in (folder, folder.parent, folder.parent.parent)] == [0o700] * 3


def test_a_new_clips_folder_is_private_and_an_open_one_is_tightened(open_umask: None, tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    new = tmp_path / "new" / "clips"
    ClipRecorder(ClipSettings(dir=str(new)), 16000)
    assert (mode(new), mode(new.parent)) == (0o700, 0o700)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    assert mode(shared) == 0o777
    with caplog.at_level(logging.WARNING):
        ClipRecorder(ClipSettings(dir=str(shared)), 16000)
    assert mode(shared) == 0o700
    assert any("clips.dir" in r.message and "0777" in r.message and "0700" in r.message for r in caplog.records)


def test_a_sticky_shared_clips_folder_is_left_alone_with_a_warning(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with caplog.at_level(logging.WARNING):
        ClipRecorder(ClipSettings(dir=str(shared)), 16000)
    assert mode(shared) == 0o1777
    assert any("clips.dir" in r.message and "others" in r.message for r in caplog.records)

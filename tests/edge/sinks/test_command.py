"""Command hook sink with real programs (the running Python)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from ser_edge.errors import ConfigError
from ser_edge.listen.events import EventFactory, event_from_json
from ser_edge.sinks import CommandSink

from .support import emotion

APPEND_STDIN = (
    "import os, sys\n"
    "data = sys.stdin.read()\n"
    "with open(sys.argv[1], 'a') as f:\n"
    "    f.write(os.environ['SER_EDGE_EVENT_TYPE'] + ' ' + os.environ.get('SER_EDGE_LABEL', '-') + ' ' + data)\n"
)


def test_program_gets_event_json_on_stdin(factory: EventFactory, tmp_path: Path) -> None:
    out = tmp_path / "got.txt"
    events = [emotion(factory, "sad"), factory.speech_start(start_s=3)]
    with CommandSink(argv=[sys.executable, "-c", APPEND_STDIN, str(out)]) as sink:
        for event in events:
            sink.emit(event)
        assert sink.flush(timeout_s=10)
    lines = out.read_text().splitlines()
    assert [line.split(" ", 2)[:2] for line in lines] == [["emotion", "sad"], ["speech_start", "-"]]
    assert [event_from_json(line.split(" ", 2)[2]) for line in lines] == events


def test_only_emotion_events(factory: EventFactory, tmp_path: Path) -> None:
    out = tmp_path / "got.txt"
    with CommandSink(argv=[sys.executable, "-c", APPEND_STDIN, str(out)], event_types=["emotion"]) as sink:
        sink.emit(factory.speech_start(start_s=0))
        sink.emit(emotion(factory))
        sink.emit(factory.status(uptime_s=1, audio_s=1, audio_dropped_s=0, windows_classified=1))
        sink.flush(timeout_s=10)
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0].split(" ", 2)[2])["type"] == "emotion"
    assert sink.stats()["filtered"] == 2


def test_failing_and_hanging_programs_are_counted_not_raised(factory: EventFactory) -> None:
    failing = CommandSink(argv=[sys.executable, "-c", "import sys; sys.stderr.write('nope'); sys.exit(3)"])
    hanging = CommandSink(argv=[sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.3)
    started = time.monotonic()
    for sink in (failing, hanging):
        sink.emit(emotion(factory))
    assert time.monotonic() - started < 0.1  # the pipeline never waits for the program
    for sink in (failing, hanging):
        sink.close()
        assert sink.stats()["failed"] == 1
    assert time.monotonic() - started < 5


def test_argv_is_checked_up_front() -> None:
    with pytest.raises(ConfigError, match="no-such-program-xyz"):
        CommandSink(argv=["no-such-program-xyz"])
    with pytest.raises(ConfigError, match="list of strings"):
        CommandSink(argv="echo hi")  # type: ignore[arg-type]

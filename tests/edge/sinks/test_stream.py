"""stdout and append-only JSONL file sinks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ser_edge.errors import ConfigError
from ser_edge.events import EventFactory, event_from_json
from ser_edge.sinks import JsonlFileSink, StdoutSink

from .support import emotion


def test_stdout_gets_one_json_line_per_event(factory: EventFactory, capsys: pytest.CaptureFixture) -> None:
    sink = StdoutSink()
    events = [factory.speech_start(start_s=0.5), emotion(factory), factory.speech_end(start_s=0.5, end_s=2.5)]
    for event in events:
        sink.emit(event)
    sink.close()
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [event_from_json(line) for line in lines] == events
    assert err == ""


def test_stdout_broken_pipe_does_not_raise(factory: EventFactory) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the consumer (say, jq) went away
    with os.fdopen(write_end, "w") as stream:
        sink = StdoutSink(stream=stream)
        sink.emit(emotion(factory))
        sink.emit(emotion(factory))
        assert sink.stats()["failed"] == 2
        try:
            stream.close()
        except BrokenPipeError:
            pass


def test_file_appends_across_restarts_and_makes_parents(factory: EventFactory, tmp_path: Path) -> None:
    path = tmp_path / "logs" / "today" / "events.jsonl"
    first = [emotion(factory), factory.speech_start(start_s=1)]
    with JsonlFileSink(path=path) as sink:
        for event in first:
            sink.emit(event)
        # line-buffered: readable before close
        assert len(path.read_text().splitlines()) == 2
    second = emotion(factory, "sad")
    with JsonlFileSink(path=path, event_types=["emotion"]) as sink:
        sink.emit(second)
        sink.emit(factory.speech_start(start_s=2))  # filtered out
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [event_from_json(line) for line in lines] == first + [second]
    assert all(json.loads(line)["model"]["id"] == "crnn-test" for line in lines)


def test_file_that_cannot_be_opened_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=str(blocker / "events.jsonl")):
        JsonlFileSink(path=blocker / "events.jsonl")
    with pytest.raises(ConfigError, match="cannot open"):
        JsonlFileSink(path=tmp_path)  # a directory

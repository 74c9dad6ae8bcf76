"""The sink factory is table-driven: every [sinks.*] section has a builder in `SINKS`, found by name."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

from ser_edge.config.load import load_settings
from ser_edge.config.settings import SinkSettings
from ser_edge.events import EventFactory
from ser_edge.sinks.build import SINKS, SPOOLED, LogSink, build_sinks, sink_names, wanted_spools


def test_every_sinks_section_has_a_builder_in_the_table() -> None:
    assert sink_names() == tuple(f.name for f in dataclasses.fields(SinkSettings))
    assert tuple(SINKS) == sink_names()  # the table lists them in the order they are built
    assert all(callable(SINKS[name]) for name in sink_names())
    assert set(SPOOLED) <= set(SINKS) and all(callable(check) for check in SPOOLED.values())


def test_the_table_imports_no_optional_package() -> None:
    """paho-mqtt is imported when an MQTT sink is made, not when the table is."""
    code = "import sys, ser_edge.sinks.build\nprint('paho' in sys.modules, 'paho.mqtt' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_sections_build_the_sinks_they_turn_on(tmp_path: Path) -> None:
    s = load_settings(None, {("sinks", "file", "path"): str(tmp_path / "e.jsonl"),
                             ("sinks", "log", "enabled"): True, ("sinks", "command", "argv"): ["true"],
                             ("sinks", "webhook", "url"): "http://127.0.0.1:9/"})
    sinks = build_sinks(s.sinks, device="d", model_id="m", stdout=io.StringIO())
    try:
        assert [sink.name for sink in sinks.sinks] == ["stdout", "log", "file", "webhook", "command"]
    finally:
        sinks.close()
    assert wanted_spools(s) == ("webhook",)
    assert wanted_spools(load_settings(None, {("sinks", "mqtt", "host"): "h"})) == ("mqtt",)


def test_the_log_sink_writes_one_readable_line_per_event() -> None:
    out = io.StringIO()
    sink = LogSink(stream=out)
    sink.emit(EventFactory(model_id="m", model_sha256="ab", device="d").speech_start(start_s=2))
    sink.close()
    assert out.getvalue().endswith(" event #1: speech start at 2.00 s\n")

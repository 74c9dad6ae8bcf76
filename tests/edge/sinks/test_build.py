"""The sink factory is table-driven: every [sinks.*] section has a builder, found by name."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from ser_edge.config.load import load_settings
from ser_edge.config.settings import SinkSettings
from ser_edge.sinks.build import build_sinks, sink_module, sink_names, wanted_spools


def test_every_sinks_section_has_a_builder_in_its_module() -> None:
    assert sink_names() == tuple(f.name for f in dataclasses.fields(SinkSettings))
    for name in sink_names():
        module, function = sink_module(name)
        assert callable(getattr(module, function)), name
        if getattr(module, "USES_SPOOL", False):
            assert callable(module.enabled), name


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

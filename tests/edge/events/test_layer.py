"""The events are the bottom layer: importing them loads nothing of the pipeline, the model or
the settings, and no package beyond the standard library (tests/edge/test_floors.py checks the
import statements; this checks what a real import loads)."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_after(statement: str) -> list[str]:
    code = (f"import sys\nbefore = set(sys.modules)\n{statement}\n"
            "import json\nprint(json.dumps(sorted(set(sys.modules) - before)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_importing_the_events_loads_only_them_and_the_standard_library() -> None:
    loaded = loaded_after("import ser_edge.events")
    ours = {m for m in loaded if m.split(".")[0] == "ser_edge"}
    assert ours <= {"ser_edge", "ser_edge.errors"} | {m for m in ours if m.startswith("ser_edge.events")}, ours
    stdlib = set(sys.stdlib_module_names)
    foreign = sorted(m for m in loaded if m.split(".")[0] not in stdlib | {"ser_edge"})
    assert foreign == [], foreign


def test_the_settings_take_the_event_names_from_the_events() -> None:
    loaded = loaded_after("import ser_edge.config.settings")
    assert "ser_edge.events" in loaded and "ser_edge.listen" not in loaded

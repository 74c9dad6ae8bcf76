"""The device package's floors: a wing imports only wings below it (or on its own floor without a
cycle), counting every import in the source, function-level ones included.

Floors, bottom up (docs: CONTRIBUTING.md): errors, smallfile and config; audio; frontend; model; listen;
sources and sinks; service and bench; then cli, cliutil, info and api.
"""

from __future__ import annotations

import ast
from pathlib import Path

EDGE = Path(__file__).resolve().parents[2] / "edge"
PACKAGE = "ser_edge"

FLOORS = [
    {"", "errors", "smallfile", "config"},  # "": the package itself (__version__)
    {"audio"},
    {"frontend"},
    {"model"},
    {"listen"},
    {"sources", "sinks"},
    {"service", "bench"},
    {"cli", "cliutil", "info", "api", "__main__"},
]
FLOOR = {wing: level for level, wings in enumerate(FLOORS) for wing in wings}


def wing_of(module: str) -> str:
    """'ser_edge.listen.events' -> 'listen'; 'ser_edge' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    rel = path.relative_to(EDGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def imports_of(path: Path) -> set[str]:
    """Every ser_edge module that ``path`` imports anywhere (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == PACKAGE:
                found.add(target)
                found |= {f"{target}.{a.name}" for a in node.names if (EDGE / Path(*target.split(".")[1:], a.name)).exists()}
    return found


def edge_imports() -> dict[str, set[str]]:
    """wing -> wings it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(EDGE.rglob("*.py")):
        wing = wing_of(module_name(path))
        graph.setdefault(wing, set()).update(wing_of(m) for m in imports_of(path))
    return graph


def test_every_wing_has_a_floor():
    assert set(edge_imports()) <= set(FLOOR), sorted(set(edge_imports()) - set(FLOOR))


def test_no_module_imports_a_wing_above_it():
    upward = []
    for path in sorted(EDGE.rglob("*.py")):
        wing = wing_of(module_name(path))
        for target in sorted(imports_of(path)):
            if FLOOR[wing_of(target)] > FLOOR[wing]:
                upward.append(f"{path.relative_to(EDGE.parent)} ({wing or PACKAGE}) imports {target}")
    assert not upward, "\n".join(upward)


def test_no_import_cycle_between_wings():
    assert_acyclic({w: {t for t in ts if t != w} for w, ts in edge_imports().items()})


def test_no_import_cycle_between_modules():
    """Not even one hidden in a function (as bench/run.py and bench/processes.py had)."""
    modules = {module_name(p): p for p in EDGE.rglob("*.py")}
    assert_acyclic({m: {t for t in imports_of(p) if t in modules and t != m} for m, p in modules.items()})


def assert_acyclic(graph: dict[str, set[str]]) -> None:
    state: dict[str, int] = {}

    def visit(wing: str, trail: list[str]) -> None:
        state[wing] = 1
        for target in sorted(graph.get(wing, ())):
            assert state.get(target) != 1, "import cycle: " + " -> ".join(trail + [wing, target])
            if target not in state:
                visit(target, trail + [wing])
        state[wing] = 2

    for wing in sorted(graph):
        if wing not in state:
            visit(wing, [])


def test_the_checker_sees_function_level_and_relative_imports():
    source = EDGE / "listen" / "pipeline.py"
    assert "ser_edge.listen.events" in imports_of(source)  # from .events import ...
    assert "ser_edge.config.settings" in imports_of(EDGE / "service" / "checks.py")
    late = {m for m in imports_of(EDGE / "cli.py") if wing_of(m) == "service"}
    assert late, "cli.py imports the service inside its commands"

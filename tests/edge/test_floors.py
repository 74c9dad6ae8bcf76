"""The device package's floors: a wing imports only wings below it (or on its own floor without a
cycle), counting every import in the source, function-level ones included.

Floors, bottom up (docs: CONTRIBUTING.md): errors and smallfile; events; config; audio; frontend;
model; listen; sources and sinks; service and bench; then cli, cliutil, info and api.
"""

from __future__ import annotations

from ..floors import PACKAGES, assert_acyclic, modules
from ..floors import imports_of as _imports_of
from ..floors import module_name as _module_name

EDGE = PACKAGES["ser_edge"]
PACKAGE = "ser_edge"

FLOORS = [
    {"", "errors", "smallfile"},  # "": the package itself (__version__)
    {"events"},  # the event types, their fields and one JSON form: what every other wing speaks
    {"config"},
    {"audio"},
    {"frontend"},
    {"model"},
    {"listen"},
    {"sources", "sinks"},
    {"service", "bench"},
    {"cli", "adaptcli", "cliutil", "info", "api", "__main__"},
]
FLOOR = {wing: level for level, wings in enumerate(FLOORS) for wing in wings}


def wing_of(module: str) -> str:
    """'ser_edge.listen.pipeline' -> 'listen'; 'ser_edge' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path) -> str:
    return _module_name(path, PACKAGE)


def imports_of(path) -> set[str]:
    """Every ser_edge module that ``path`` imports anywhere (relative imports resolved)."""
    return {m for m in _imports_of(path, PACKAGE) if m.split(".")[0] == PACKAGE}


def edge_imports() -> dict[str, set[str]]:
    """wing -> wings it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(EDGE.rglob("*.py")):
        wing = wing_of(module_name(path))
        graph.setdefault(wing, set()).update(wing_of(m) for m in imports_of(path))
    return graph


def test_every_wing_has_a_floor():
    assert set(edge_imports()) <= set(FLOOR), sorted(set(edge_imports()) - set(FLOOR))


def test_every_wing_is_a_package_of_the_wheel():
    """A new wing needs a floor here and a line in pyproject's packages, or the wheel lacks it."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    packages = tomllib.loads((EDGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    wings = {module_name(init.parent / "__init__.py") for init in EDGE.glob("*/__init__.py")}
    assert wings - set(packages) == set(), sorted(wings - set(packages))


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
    mods = modules(PACKAGE)
    assert_acyclic({m: {t for t in imports_of(p) if t in mods and t != m} for m, p in mods.items()})


def test_the_checker_sees_function_level_and_relative_imports():
    source = EDGE / "listen" / "pipeline.py"
    assert "ser_edge.listen.smoothing" in imports_of(source)  # from .smoothing import ...
    assert "ser_edge.config.settings" in imports_of(EDGE / "service" / "checks.py")
    late = {m for m in imports_of(EDGE / "cli.py") if wing_of(m) == "service"}
    assert late, "cli.py imports the service inside its commands"

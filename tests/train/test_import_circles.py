"""No import circle between the modules of the training workspace, counting every import in the
source, function-level ones included (the corpus parsers had one: corpora <-> owndata)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.edge.test_floors import assert_acyclic

TRAIN = Path(__file__).resolve().parents[2] / "train"
PACKAGE = "ser_train"


def module_name(path: Path) -> str:
    """train/data/corpora.py -> 'ser_train.data.corpora'; train/data/__init__.py -> 'ser_train.data'."""
    parts = [p for p in path.relative_to(TRAIN).with_suffix("").parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``path`` imports anywhere (``from ser_train.data import owndata``
    counts as ser_train.data.owndata); train/ uses absolute imports only."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found & modules


def test_no_import_cycle_between_training_modules():
    paths = {module_name(p): p for p in TRAIN.rglob("*.py")}
    graph = {m: {t for t in imports_of(p, set(paths)) if t != m} for m, p in paths.items()}
    assert_acyclic(graph)


def test_the_checker_sees_function_level_imports():
    paths = {module_name(p): p for p in TRAIN.rglob("*.py")}
    assert "ser_train.data.corpora" in imports_of(TRAIN / "cli.py", set(paths))  # inside a command

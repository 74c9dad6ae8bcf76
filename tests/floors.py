"""Reading a package's imports for the floors tests (tests/edge/test_floors.py,
tests/train/test_floors.py): every import in the source, function-level ones included,
relative ones resolved, as dotted module names."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: import name -> folder
PACKAGES = {"ser_edge": ROOT / "edge", "ser_train": ROOT / "train", "ser_convert": ROOT / "convert"}


def module_name(path: Path, package: str) -> str:
    """edge/listen/pipeline.py -> 'ser_edge.listen.pipeline'; an __init__.py is its package."""
    rel = path.relative_to(PACKAGES[package]).with_suffix("")
    return ".".join([package, *(p for p in rel.parts if p != "__init__")])


def imports_of(path: Path, package: str) -> set[str]:
    """Every module of our three packages that ``path`` (in ``package``) imports anywhere."""
    name = module_name(path, package)
    here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            top = target.split(".")[0]
            if top in PACKAGES:
                found.add(target)
                folder = PACKAGES[top].joinpath(*target.split(".")[1:])
                found |= {f"{target}.{a.name}" for a in node.names
                          if (folder / a.name).is_dir() or (folder / f"{a.name}.py").exists()}
    return found


def modules(package: str) -> dict[str, Path]:
    """Dotted name -> path of every module of ``package``."""
    return {module_name(p, package): p for p in sorted(PACKAGES[package].rglob("*.py"))}


def assert_acyclic(graph: dict[str, set[str]]) -> None:
    """No cycle in ``graph`` (node -> nodes it imports); the message shows one."""
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            assert state.get(target) != 1, "import cycle: " + " -> ".join(trail + [node, target])
            if target not in state:
                visit(target, trail + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])

"""The training workspace's floors, and the converter's narrow door into it.

`train/` is laid out in wings that follow the data (CONTRIBUTING.md): data, then features (and the
metrics), then the one configuration, then fit (with the run folder), then evaluate, then the
flags and the command. A module imports only its own wing and the wings below it, never one above; no two modules import
each other, not even in a function. `convert/` reads a run only through `ser_train.fit.run`
(the `Run` interface) besides `ser_edge`: converting never reaches the corpora's parsers.
"""

from __future__ import annotations

from ..floors import assert_acyclic, imports_of, modules

FLOORS = [
    {""},  # the package itself
    {"data"},
    {"metrics", "features"},
    {"config"},
    {"fit"},
    {"evaluate"},
    {"flags"},
    {"cli"},
]
FLOOR = {wing: level for level, wings in enumerate(FLOORS) for wing in wings}
#: what convert/ may import of ser_train: the run folder's interface; and, in its command, the old
#: spelling `ser-convert tune` of `ser-train tune` (loaded by name when asked for)
CONVERT_MAY_USE = {"ser_train.fit.run"}


def wing_of(module: str) -> str:
    """'ser_train.fit.run' -> 'fit'; 'ser_train' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_wing_has_a_floor():
    assert {wing_of(m) for m in modules("ser_train")} <= set(FLOOR)


def test_no_training_module_imports_a_wing_above_it():
    upward = [f"{m} imports {t}" for m, path in modules("ser_train").items()
              for t in sorted(imports_of(path, "ser_train"))
              if t.startswith("ser_train") and FLOOR[wing_of(t)] > FLOOR[wing_of(m)]]
    assert not upward, "\n".join(upward)


def test_training_never_imports_the_converter():
    found = [f"{m} imports {t}" for m, path in modules("ser_train").items()
             for t in imports_of(path, "ser_train") if t.startswith("ser_convert")]
    assert not found, "\n".join(found)


def test_no_import_cycle_between_modules():
    for package in ("ser_train", "ser_convert"):
        mods = modules(package)
        assert_acyclic({m: {t for t in imports_of(p, package) if t in mods and t != m} for m, p in mods.items()})


def test_the_converter_reads_training_only_through_the_run():
    found = [f"{m} imports {t}" for m, path in modules("ser_convert").items()
             for t in imports_of(path, "ser_convert")
             if t.startswith("ser_train") and t not in CONVERT_MAY_USE]
    assert not found, "\n".join(found)


def test_the_checker_sees_function_level_imports():
    late = imports_of(modules("ser_train")["ser_train.cli"], "ser_train")
    assert "ser_train.fit.train" in late  # imported inside the fit command

"""`ser-train cv --enrol-per-class K`: each fold's test speakers with K clips per class enrolled.

After a fold is trained (or read back, finished before), its run is evaluated on its own test
speakers as `ser-train eval RUN --speakers ... --enrol-per-class K` would (`ser_train.evaluate.clips`):
the model's windows, adapted to each speaker from their other clips, then the personal head
(`ser_train.evaluate.enrolled`). ``fold.json`` gains ``"enrolled"`` (written in place, so a rerun
with the same K reads it back); the summary gains its mean per fold kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ser_train.data.folds import Fold


def add_enrolled(done: dict, fold: Fold, fold_dir: Path, data_dirs: Sequence[str], k: int, cache_dir: str) -> dict:
    """``done`` (a fold's result) with ``"enrolled"`` for K, computed unless it is there already."""
    have = done.get("enrolled")
    if have is not None and have.get("k") == k:
        return done
    from ser_train.evaluate.clips import evaluate

    result = evaluate(fold_dir, [Path(d) for d in data_dirs], speakers=list(fold.test), enrol_per_class=k,
                      cache_dir=Path(cache_dir))
    done = {**done, "enrolled": result["enrolled"]}
    path = Path(fold_dir) / "fold.json"
    tmp = path.with_suffix(".tmp-enrol")
    tmp.write_text(json.dumps({k_: v for k_, v in done.items() if k_ != "resumed"}, indent=2) + "\n")
    tmp.replace(path)
    return done


def enrolled_summary(folds: Sequence[dict]) -> dict:
    """{kind: {"k", "uar", "base_uar", "gain", "n"}}: means over the folds that have "enrolled"."""
    out = {}
    for kind in dict.fromkeys(f["kind"] for f in folds):
        mine = [f["enrolled"] for f in folds if f["kind"] == kind and f.get("enrolled")]
        if mine:
            uar, base = float(np.mean([e["uar"] for e in mine])), float(np.mean([e["base_uar"] for e in mine]))
            out[kind] = {"k": mine[0]["k"], "uar": round(uar, 4), "base_uar": round(base, 4),
                         "gain": round(uar - base, 4), "n": len(mine)}
    return out

"""How much the network should weigh in a fusion decision: leave-one-corpus-out figures of
softmax(w * mean window log-probability + log regression probability) for a grid of w, from the
fold runs of finished `ser-train cv --head fusion` folders (no training).

    python benchmarks/fusion_weights.py runs/cv-fusion-s0-corpus [more cv folders: seeds] [--json OUT]

Each fold's test clips are decided from its float network (the run's model.keras on the run's own
test windows) and its saved head and vectors (utterance.json, utterance-vectors.npz); w = 1 is
what `--head fusion` trains and ships, w = 0 the regression alone. Means ± sd are over the folds
of every folder given (folders of several seeds: over folds x seeds). Choosing w on these same
folds is a choice made on the test corpora: report it as such, or confirm it on other folds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

GRID = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5)
METRICS = ("uar", "uar4", "arousal_bacc", "macro_f1")


def fold_parts(fold_dir: Path) -> tuple:
    """(run, clip ids (n,), network mean log-probabilities (n, C), regression log-probabilities (n, C))
    of a fold's test clips; cached as fusion-parts.npz in the fold folder."""
    from ser_convert.utterance import run_head
    from ser_train.fit.run import load_run

    run = load_run(fold_dir)
    cache = fold_dir / "fusion-parts.npz"
    if cache.is_file():
        with np.load(cache) as saved:
            return run, saved["ids"], saved["net"], saved["reg"]
    _, head, numbers, z = run_head(run)
    windows = run.windows("test")
    scores = run.load_model().predict(windows.x, batch_size=512, verbose=0).astype(np.float64)
    where = {int(n): k for k, n in enumerate(numbers)}
    ids = np.array([int(i) for i in np.unique(windows.clip) if int(i) in where], dtype=np.int64)
    log_p = np.log(np.maximum(scores, head.floor))
    net = np.array([log_p[windows.clip == i].mean(axis=0) for i in ids])
    reg = np.log(np.maximum(np.array([head.regression(z[where[int(i)]]) for i in ids]), head.floor))
    np.savez(cache, ids=ids, net=net, reg=reg)
    return run, ids, net, reg


def figures(run, ids: np.ndarray, scores: np.ndarray) -> dict:
    """The cv's own figures (`ser_train.evaluate.cv.clip_figures`) of clip scores of ``run``'s clips ``ids``."""
    from types import SimpleNamespace

    from ser_train.evaluate.cv import clip_figures

    return clip_figures(ids, scores, SimpleNamespace(clips=run.clips(), label_set=run.label_set))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cv_dirs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    folds = [d for cv in args.cv_dirs for d in sorted(cv.glob("corpus-*")) if (d / "utterance.json").is_file()]
    if not folds:
        print("no fusion fold runs (corpus-*/utterance.json) in " + ", ".join(map(str, args.cv_dirs)), file=sys.stderr)
        return 1
    table: dict = {w: {m: [] for m in METRICS} for w in GRID}
    per_fold: dict = {}
    for fold in folds:
        run, ids, net, reg = fold_parts(fold)
        for w in GRID:
            got = figures(run, ids, w * net + reg)
            for m in METRICS:
                table[w][m].append(got[m])
            per_fold.setdefault(str(fold), {})[str(w)] = {m: round(got[m], 4) for m in METRICS}
    print(f"{len(folds)} fold runs; network weight w; mean ± sd over them")
    print("w      " + "  ".join(f"{m:>15}" for m in METRICS))
    for w in GRID:
        print(f"{w:<6} " + "  ".join(f"{np.mean(v):.4f} ± {np.std(v):.3f}" for v in table[w].values()))
    if args.json:
        summary = {str(w): {m: {"mean": float(np.mean(v)), "sd": float(np.std(v)), "n": len(v)} for m, v in t.items()}
                   for w, t in table.items()}
        args.json.write_text(json.dumps({"folds": per_fold, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

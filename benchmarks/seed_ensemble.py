"""What an ensemble of seeds would gain over one seed, fold by fold: the ceiling of distilling
seeds into one bundle (issue 23's last lever), measured before anyone pays for distillation.

    python benchmarks/seed_ensemble.py runs/cv-a-s0-corpus runs/cv-a-s1-corpus runs/cv-a-s2-corpus [--json out.json]

The cv folders are the same recipe with different seeds. For every fold name they all finished
(``corpus-emovo``, ...), each seed's float fold model scores the fold's test speakers' windows
and decides their clips as the device does (the utterance head of a fusion run, on the windows'
scores; `cv_int8._decider`), each test speaker normalised with the statistics of all their clips,
as ser-convert's parity is; the ensemble's decision of a clip is the mean of the seeds' class
probabilities. Figures per fold (`ser_train.evaluate.cv.clip_figures`): each seed alone, their
mean, and the ensemble; then the means over folds. About 30 s a fold and seed on 2 cores. Run
from the folder the recipe's relative paths start at.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv_int8 import _decider  # noqa: E402  (the device's utterance decisions of a fold run)

METRICS = ("uar", "uar4", "arousal_bacc", "macro_f1")


def seed_scores(fold_dir: Path) -> tuple[list[str], np.ndarray, SimpleNamespace]:
    """One seed's fold: (its test clips' paths (n,), decisions (n, classes) float64, data for the figures)."""
    from ser_convert.convert import convertible
    from ser_train.fit.run import load_run

    run = convertible(load_run(fold_dir))
    part = run.held_out
    window_scores = run.load_model().predict(run.windows(part).x, batch_size=256, verbose=0)
    _, decide = _decider(run, part)
    ids, decisions = decide(window_scores)
    clips = run.clips()
    return [str(clips[int(i)].path) for i in ids], np.asarray(decisions, np.float64), \
        SimpleNamespace(clips=clips, label_set=run.label_set, ids=ids)


def fold_row(name: str, fold_dirs: list[Path]) -> dict:
    """The figures of each seed and of their ensemble on one fold; the seeds must share the test clips."""
    from ser_train.evaluate.cv import clip_figures

    seeds = [seed_scores(d) for d in fold_dirs]
    paths, _, data = seeds[0]
    for other, _, _ in seeds[1:]:
        if other != paths:
            raise SystemExit(f"seed_ensemble: {name}: the seeds' test clips differ; same recipe and corpora?")
    singles = [clip_figures(d.ids, s, d) for _, s, d in seeds]
    ensemble = clip_figures(data.ids, np.mean([s for _, s, _ in seeds], axis=0), data)
    return {"fold": name, "clips": len(paths),
            "seeds": [{m: f[m] for m in METRICS} for f in singles],
            "seed_mean": {m: statistics.mean(f[m] for f in singles) for m in METRICS},
            "ensemble": {m: ensemble[m] for m in METRICS},
            "ensemble_recall": ensemble["per_class_recall"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cv_dirs", type=Path, nargs="+", help="`ser-train cv` folders of one recipe, one per seed.")
    ap.add_argument("--json", type=Path, help="Also write the rows and means here.")
    args = ap.parse_args(argv)
    if len(args.cv_dirs) < 2:
        ap.error("give at least two cv folders (seeds) to ensemble")
    names = sorted(set.intersection(*({p.parent.name for p in d.glob("*/fold.json")} for d in args.cv_dirs)))
    if not names:
        print("seed_ensemble: no fold finished in every folder", file=sys.stderr)
        return 1
    rows = [fold_row(n, [d / n for d in args.cv_dirs]) for n in names]
    print("| fold | clips | UAR, each seed | mean of seeds | ensemble | arousal, mean of seeds | ensemble |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        each = ", ".join(f"{100 * s['uar']:.1f}" for s in r["seeds"])
        print(f"| {r['fold']} | {r['clips']} | {each} | {100 * r['seed_mean']['uar']:.1f} | "
              f"{100 * r['ensemble']['uar']:.1f} | {100 * r['seed_mean']['arousal_bacc']:.1f} | "
              f"{100 * r['ensemble']['arousal_bacc']:.1f} |")
    means = {k: {m: statistics.mean(r[k][m] for r in rows) for m in METRICS} for k in ("seed_mean", "ensemble")}
    for k, v in means.items():
        print(f"{k} over {len(rows)} folds: " + ", ".join(f"{m} {100 * x:.1f}" for m, x in v.items()))
    if args.json:
        args.json.write_text(json.dumps({"cv_dirs": [str(d) for d in args.cv_dirs], "folds": rows, "means": means},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How accuracy on unseen speakers depends on how many speakers the data has: `ser-train cv` twice.

    python benchmarks/speaker_curve.py [--data DIR] [--keep 10] [-o runs/speaker-curve] [cv options...]

Runs the speaker folds of `ser-train cv` (as benchmarks/train_folds.py does) once on all
corpora and once with the RAVDESS actors thinned to ``--keep`` (sexes even, lowest actor
numbers kept; the others are ``--exclude-speakers``, so they neither train nor test), and
prints the two fold means. Other arguments go to `ser-train cv` unchanged. Results in
OUT/all/cv.json and OUT/keep-N/cv.json; both resume fold by fold.

Until issue 13 this script retrained two RAVDESS folds with 7 of 14 training actors; those
figures are kept in benchmarks/speaker_curve.json and benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from train_folds import cv_args


def thinned(actors: list[str], keep: int) -> list[str]:
    """The RAVDESS actors ('ravdess:NN') to exclude so that ``keep`` remain, sexes even (odd = male)."""
    male = sorted(a for a in actors if int(a.split(":")[1]) % 2 == 1)
    female = sorted(a for a in actors if int(a.split(":")[1]) % 2 == 0)
    kept = male[: (keep + 1) // 2] + female[: keep // 2]
    return sorted(a for a in actors if a not in kept)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("SER_EDGE_DATA", "../shared/data")))
    ap.add_argument("--keep", type=int, default=10, help="RAVDESS actors to keep in the thinned run")
    ap.add_argument("-o", "--out", type=Path, default=Path("runs/speaker-curve"))
    args, rest = ap.parse_known_args()
    from ser_train.cli import main as ser_train

    actors = [f"ravdess:{d.name[-2:]}" for d in sorted((args.data / "ravdess").glob("Actor_*"))]
    runs = {"all": [], f"keep-{args.keep}": thinned(actors, args.keep)}
    for name, excluded in runs.items():
        extra = ["--exclude-speakers", ",".join(excluded)] if excluded else []
        try:
            ser_train(cv_args(args.data, str(args.out / name), [*rest, *extra]), prog_name="ser-train",
                      standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise
    for name in runs:
        s = json.loads((args.out / name / "cv.json").read_text())["summary"]["speaker"]["uar"]
        print(f"{name}: {len(actors) - len(runs[name])} RAVDESS actors, speaker-fold UAR {s['mean']:.3f} ± {s['sd']:.3f} "
              f"({s['n']} folds)")


if __name__ == "__main__":
    main()

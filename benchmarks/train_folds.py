"""Speaker-independent accuracy of the training recipe: a thin caller of `ser-train cv`.

    python benchmarks/train_folds.py [--data ../shared/data] [-o runs/cv-speaker] [cv options...]

Runs ``ser-train cv DATA/ravdess DATA/tess DATA/emovo DATA/turev --folds speaker -o OUT``
(corpora that are absent are left out); every other argument goes to `ser-train cv`
unchanged (``-k 5``, ``--folds both``, ``--only speaker-0``, any fit option). Resumes fold
by fold. Results: OUT/cv.json and OUT/cv.png (see docs/TRAINING.md).

Until issue 13 this script trained 5 folds over the 20 RAVDESS actors only (plus TESS);
those figures are kept in benchmarks/folds.json and benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CORPUS_FOLDERS = ("ravdess", "tess", "emovo", "turev")


def cv_args(data: Path, out: str, rest: list[str], default_folds: str = "speaker") -> list[str]:
    """The `ser-train cv` arguments for the shared corpora under ``data``."""
    dirs = [str(data / c) for c in CORPUS_FOLDERS if (data / c).is_dir()]
    folds = [] if "--folds" in rest else ["--folds", default_folds]
    return ["cv", *dirs, "-o", out, *folds, *rest]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("SER_EDGE_DATA", "../shared/data")))
    ap.add_argument("-o", "--out", default="runs/cv-speaker")
    args, rest = ap.parse_known_args()
    from ser_train.cli import main as ser_train

    ser_train(cv_args(args.data, args.out, rest), prog_name="ser-train")


if __name__ == "__main__":
    main()

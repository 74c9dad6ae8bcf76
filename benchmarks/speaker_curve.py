"""How accuracy on unseen speakers depends on how many speakers the model trained on.

    python benchmarks/speaker_curve.py [--data DIR] [--folds 1,4] [--keep 7] [--json out.json]

For each chosen fold of `train_folds.py` (same test and validation actors), trains the same
recipe on only ``--keep`` of the fold's RAVDESS training actors (the first of each sex in
actor order, odd = male first; TESS always in), and prints the held-out UAR next to the
fold's figure with all training actors from benchmarks/folds.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ser_train.fit import TrainConfig, evaluate_windows, prepare, train_model  # noqa: E402
from ser_train.splits import speaker_folds  # noqa: E402

HERE = Path(__file__).resolve().parent


def kept_actors(training: list[str], keep: int) -> list[str]:
    """``keep`` actors of ``training`` ('ravdess:NN'), sexes as even as possible (males first)."""
    male = [a for a in training if int(a.split(":")[1]) % 2 == 1]
    female = [a for a in training if int(a.split(":")[1]) % 2 == 0]
    return sorted(male[: (keep + 1) // 2] + female[: keep // 2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("SER_EDGE_DATA", "../shared/data"))
    ap.add_argument("--folds", default="1,4", help="comma-separated fold numbers")
    ap.add_argument("--keep", type=int, default=7, help="RAVDESS training actors to keep")
    ap.add_argument("--cache", default=".cache/features")
    ap.add_argument("--json", dest="json_out", default="")
    args = ap.parse_args()
    data = Path(args.data)
    actors = [f"ravdess:{i:02d}" for i in range(1, 21) if (data / "ravdess" / f"Actor_{i:02d}").is_dir()]
    folds = speaker_folds(actors, 5, seed=0)
    full = {f["fold"]: f for f in json.loads((HERE / "folds.json").read_text())["folds"]}
    results = []
    for i in (int(x) for x in args.folds.split(",")):
        test, validation = folds[i]
        training = [a for a in actors if a not in test and a not in validation]
        kept = kept_actors(training, args.keep)
        config = TrainConfig(data_dirs=(str(data / "ravdess"), str(data / "tess")), test_speakers=tuple(test),
                             validation_speakers=tuple(validation), cache_dir=args.cache,
                             exclude_speakers=tuple(a for a in training if a not in kept))
        started = time.time()
        prepared = prepare(config, progress=False)
        model, history = train_model(config, prepared, verbose=0)
        report = evaluate_windows(lambda x: model.predict(x, batch_size=256, verbose=0),
                                  prepared.windows["test"], prepared.clips, prepared.label_set)
        all_uar = full.get(i, {}).get("uar")
        results.append({"fold": i, "kept": kept, "uar": report["uar"], "accuracy": report["accuracy"],
                        "uar_all_actors": all_uar, "n_all_actors": len(training), "seconds": round(time.time() - started)})
        print(f"fold {i}: {len(kept)} training actors ({','.join(a.split(':')[1] for a in kept)}) UAR {report['uar']:.3f}; "
              f"all {len(training)}: {all_uar if all_uar is None else f'{all_uar:.3f}'}", flush=True)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Speaker-independent accuracy of the training recipe: k folds over the RAVDESS actors.

    python benchmarks/train_folds.py [--data ../shared/data] [--folds 5] [--json out.json]

Each fold trains on the other RAVDESS actors plus all of TESS, stops early on two
actors of the next fold, and is scored (clip level) on its own held-out actors,
whom it never heard. Prints one line per fold and the mean +- sd, with timings.
TESS has two speakers: it trains, it proves nothing about unseen speakers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ser_train.fit import TrainConfig, evaluate_windows, prepare, train_model  # noqa: E402
from ser_train.splits import speaker_folds  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("SER_EDGE_DATA", "../shared/data"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated fold numbers to run (default: all)")
    ap.add_argument("--cache", default=".cache/features")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", dest="json_out", default="")
    args = ap.parse_args()
    data = Path(args.data)
    actors = [f"ravdess:{i:02d}" for i in range(1, 21) if (data / "ravdess" / f"Actor_{i:02d}").is_dir()]
    folds = speaker_folds(actors, args.folds, seed=args.seed)
    chosen = [int(x) for x in args.only.split(",")] if args.only else range(len(folds))
    results = []
    for i in chosen:
        test, validation = folds[i]
        config = TrainConfig(data_dirs=(str(data / "ravdess"), str(data / "tess")), test_speakers=tuple(test),
                             validation_speakers=tuple(validation), cache_dir=args.cache, seed=args.seed)
        started = time.time()
        prepared = prepare(config, progress=False)
        prep_s = time.time() - started
        model, history = train_model(config, prepared, verbose=0)
        report = evaluate_windows(lambda x: model.predict(x, batch_size=256, verbose=0),
                                  prepared.windows["test"], prepared.clips, prepared.label_set)
        total_s = time.time() - started
        results.append({"fold": i, "test": test, "validation": validation, "epochs": len(history["loss"]),
                        "features_s": round(prep_s, 1), "total_s": round(total_s, 1), **report})
        recall = ", ".join(f"{k} {v:.2f}" for k, v in report["per_class_recall"].items() if v is not None)
        _write(args.json_out, results)
        print(f"fold {i} test {','.join(t.split(':')[1] for t in test)}: UAR {report['uar']:.3f} "
              f"acc {report['accuracy']:.3f} F1 {report['macro_f1']:.3f} ({report['n']} clips, {len(history['loss'])} epochs, "
              f"features {prep_s:.0f} s, total {total_s:.0f} s) | {recall}", flush=True)
    uars = np.array([r["uar"] for r in results])
    print(f"mean UAR {uars.mean():.3f} +- {uars.std(ddof=1) if len(uars) > 1 else 0:.3f} over {len(uars)} fold(s), "
          f"mean accuracy {np.mean([r['accuracy'] for r in results]):.3f}, "
          f"mean macro-F1 {np.mean([r['macro_f1'] for r in results]):.3f}")


def _write(path: str, results: list[dict]) -> None:
    """Written after every fold, so a long run that is stopped keeps what it measured."""
    if path:
        Path(path).write_text(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                                          "date": time.strftime("%Y-%m-%d"), "folds": results}, indent=2))


if __name__ == "__main__":
    main()

"""The shipped models against the project's targets: one table, each figure met or not, the baseline beside it.

    python benchmarks/targets.py --cv benchmarks/cv/shipped-corpus.json --cv benchmarks/cv/shipped-speaker.json \
        [--cv4 benchmarks/cv/shipped4-corpus.json] [--baseline benchmarks/cv/baseline-corpus.json] \
        [--int8 benchmarks/cv/shipped-int8.json] [--bundle models/default --bundle models/4class] [--no-bench] \
        [--json out.json]

Cross-validation figures come from `ser-train cv` cv.json files of the shipped recipe (float fold
models, clip level; a speaker-normalised recipe's figures are adapted to each test speaker from
all of their other clips, its cold start is printed beside). int8 against float and the model
size come from each bundle's manifest (`ser-convert` parity on its held-out speakers); the
device figures from `ser-edge bench --json` run here (the machine's load is printed with them).
No figure is timed inside a test: this prints, it does not pass or fail.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def folds_of(paths: list[Path]) -> dict[str, list[dict]]:
    """kind ("corpus", "speaker") -> folds, from cv.json files or `ser-train cv` folders (an unfinished
    one too: its finished folds' fold.json)."""
    out: dict[str, list[dict]] = {}
    for path in paths:
        if path.is_dir() and not (path / "cv.json").is_file():
            folds = [json.loads(p.read_text()) for p in sorted(path.glob("*/fold.json"))]
        else:
            folds = json.loads((path / "cv.json" if path.is_dir() else path).read_text())["folds"]
        for fold in folds:
            out.setdefault(fold["kind"], []).append(fold)
    return out


def _mean(values: list[float]) -> Optional[tuple[float, float, int]]:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0), len(values)


def cv_figures(folds: dict[str, list[dict]], condition: str = "all") -> dict[str, Optional[tuple]]:
    """The four cross-validated target figures; ``condition`` "cold" reads a speaker-normalised fold's cold start."""
    def metrics(fold: dict) -> dict:
        return (fold.get("adapted") or {}).get(condition, fold["metrics"]) if condition != "all" else fold["metrics"]

    loco = folds.get("corpus", [])
    three = [f for f in loco if f["test"]["corpora"] != ["turev"]]  # TurEV-DB lacks fearful, disgust, surprised
    ravdess = [((metrics(f).get("by_corpus") or {}).get("ravdess") or
                (metrics(f) if f["test"]["corpora"] == ["ravdess"] else None)) for f in folds.get("speaker", [])]
    return {
        "loco_uar4": _mean([metrics(f)["uar4"] for f in loco]),
        "loco3_uar7": _mean([metrics(f)["uar"] for f in three]),
        "ravdess_speaker_uar7": _mean([m["uar"] for m in ravdess if m]),
        "loco_arousal": _mean([metrics(f)["arousal_bacc"] for f in loco]),
    }


def bench(bundle: Path) -> Optional[dict]:
    """`ser-edge bench --json` on ``bundle``; None (said on stderr) if it fails."""
    cmd = [str(Path(sys.executable).parent / "ser-edge"), "bench", "-m", str(bundle), "--json", "--realtime-seconds", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"targets: bench of {bundle} failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def _fmt(x: Optional[tuple], scale: float = 100.0) -> str:
    if x is None:
        return "not measured"
    mean, sd, n = x
    return f"{scale * mean:.1f} ± {scale * sd:.1f} ({n} folds)"


def rows(shipped: dict, cold: dict, baseline: dict, four: Optional[dict], bundles: list[dict],
         int8: Optional[dict] = None, four_cold: Optional[dict] = None) -> list[tuple]:
    """(figure, target, measured, met, baseline) rows; ``four``/``four_cold``: the 4-class recipe's figures."""
    def met(x: Optional[tuple], goal: float) -> str:
        return "n/a" if x is None else ("met" if x[0] >= goal else "not met")

    loco4 = four["loco_uar4"] if four else shipped["loco_uar4"]
    out = [
        ("leave-one-corpus-out mean, 4-class UAR" + ("" if four else " (7-class model over 4 classes)"), ">= 60",
         _fmt(loco4) + f"; cold {_fmt((four_cold if four else cold)['loco_uar4'])}", met(loco4, 0.60),
         _fmt(baseline.get("loco_uar4"))),
        ("leave-one-corpus-out mean over RAVDESS, TESS, EMOVO, 7-class UAR", ">= 45",
         _fmt(shipped["loco3_uar7"]) + f"; cold {_fmt(cold['loco3_uar7'])}", met(shipped["loco3_uar7"], 0.45),
         _fmt(baseline.get("loco3_uar7"))),
        ("RAVDESS speaker folds mean, 7-class UAR", ">= 65", _fmt(shipped["ravdess_speaker_uar7"]),
         met(shipped["ravdess_speaker_uar7"], 0.65), _fmt(baseline.get("ravdess_speaker_uar7"))),
        ("leave-one-corpus-out mean, binary arousal balanced accuracy", ">= 80",
         _fmt(shipped["loco_arousal"]) + f"; cold {_fmt(cold['loco_arousal'])}", met(shipped["loco_arousal"], 0.80),
         _fmt(baseline.get("loco_arousal"))),
    ]
    for kind, s in (int8 or {}).get("summary", {}).items():
        drop, agree = 100 * s["drop"], 100 * s["agreement"]
        out.append((f"int8 against float, {kind} folds of the recipe (benchmarks/cv_int8.py)", "<= 1 point, >= 97 %",
                    f"{drop:.1f} points lower ({100 * s['int8_uar']:.1f} % against {100 * s['float_uar']:.1f} %), {agree:.1f} % agree",
                    "met" if drop <= 1 and agree >= 97 else "not met", ""))
    for b in bundles:
        m, name = b["manifest"], b["name"]
        drop, agree = 100 * m["metrics"]["uar_drop"], 100 * m["metrics"]["top1_agreement"]
        out.append((f"{name}: int8 against float ({m['metrics']['held_out_part']} speakers)", "<= 1 point, >= 97 %",
                    f"{drop:.1f} points lower, {agree:.1f} % agree", "met" if drop <= 1 and agree >= 97 else "not met", ""))
        size = m["model"]["size_bytes"] / 1000
        out.append((f"{name}: model file", "<= 100 KB", f"{size:.1f} KB", "met" if size <= 100 else "not met", ""))
        if b.get("bench"):
            p95 = b["bench"]["per_window_ms"]["total"]["p95"]
            rss = max(b["bench"]["peak_rss_mb"]["classify"], b["bench"]["peak_rss_mb"]["listen"])
            load = b["bench"]["machine_before"]["load_1m"]
            out.append((f"{name}: device per window p95 (`ser-edge bench`)", "<= 2 ms", f"{p95:.2f} ms (load {load:.1f})",
                        "met" if p95 <= 2 else "not met", ""))
            out.append((f"{name}: peak RSS, the larger of classify and listen", "<= 50 MB", f"{rss:.1f} MB",
                        "met" if rss <= 50 else "not met", ""))
    return out


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cv", type=Path, action="append", required=True, help="cv.json or cv folder of the shipped 7-class recipe (repeat).")
    ap.add_argument("--cv4", type=Path, action="append", default=[], help="cv.json of the shipped 4-class recipe.")
    ap.add_argument("--baseline", type=Path, action="append", default=[], help="cv.json of the baseline recipe.")
    ap.add_argument("--int8", type=Path, help="JSON of benchmarks/cv_int8.py over the recipe's folds.")
    ap.add_argument("--bundle", type=Path, action="append", default=[], help="Shipped bundle folder (repeat).")
    ap.add_argument("--no-bench", action="store_true", help="Skip `ser-edge bench`.")
    ap.add_argument("--json", type=Path, help="Also write the rows as JSON.")
    args = ap.parse_args(argv)
    shipped, cold = cv_figures(folds_of(args.cv)), cv_figures(folds_of(args.cv), "cold")
    baseline = cv_figures(folds_of(args.baseline)) if args.baseline else {}
    four = cv_figures(folds_of(args.cv4)) if args.cv4 else None
    four_cold = cv_figures(folds_of(args.cv4), "cold") if args.cv4 else None
    bundles = []
    for path in args.bundle:
        bundles.append({"name": path.name, "manifest": json.loads((path / "manifest.json").read_text()),
                        "bench": None if args.no_bench else bench(path)})
    table = rows(shipped, cold, baseline, four, bundles, json.loads(args.int8.read_text()) if args.int8 else None,
                 four_cold)
    print("| figure (shipped recipe) | target | measured | | baseline (issue 13) |\n|---|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    if args.json:
        args.json.write_text(json.dumps([dict(zip(("figure", "target", "measured", "met", "baseline"), r)) for r in table],
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

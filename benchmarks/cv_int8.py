"""int8 against float over the folds of a `ser-train cv` run: every fold's model quantized as the
shipped bundles are, then both scored on that fold's own test speakers.

    python benchmarks/cv_int8.py runs/cv-shipped [--json benchmarks/cv/shipped-int8.json]

Per fold: clip-level UAR of the float and the int8 model (7 classes, or the run's label set),
their difference, the window-level top-1 agreement (`ser_convert.parity`) and the class gate's
verdict on the int8 model (`ser_convert.gate`: measured here, not enforced); then the mean over
folds of each kind. A speaker-normalised recipe is scored with each test speaker's
statistics from all of their clips, as ser-convert's parity does. About 40 s a fold on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path


def fold_parity(fold_dir: Path) -> dict:
    from ser_convert.convert import convert_run
    from ser_convert.gate import class_gate

    with tempfile.TemporaryDirectory() as tmp:  # measured, not shipped: past the class gate, which is reported
        _, parity = convert_run(fold_dir, Path(tmp) / "bundle", progress=False, gate=False)
    return {"fold": fold_dir.name, "float_uar": parity.float_report["uar"], "int8_uar": parity.int8_report["uar"],
            "drop": parity.uar_drop, "agreement": parity.agreement, "windows": parity.windows,
            "int8_per_class_recall": parity.int8_report["per_class_recall"],
            "gate": class_gate(parity.int8_report).to_dict()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cv_dir", type=Path, help="A `ser-train cv` output folder.")
    ap.add_argument("--json", type=Path, help="Also write the rows and means here.")
    args = ap.parse_args(argv)
    rows = [fold_parity(d.parent) for d in sorted(args.cv_dir.glob("*/fold.json"))]
    if not rows:
        print(f"cv_int8: no finished folds in {args.cv_dir}", file=sys.stderr)
        return 1
    print("| fold | float UAR | int8 UAR | int8 lower by | top-1 agreement | class gate |\n|---|---|---|---|---|---|")
    for r in rows:
        below = ", ".join(r["gate"]["below"]) or "passed"
        print(f"| {r['fold']} | {100 * r['float_uar']:.1f} % | {100 * r['int8_uar']:.1f} % | {100 * r['drop']:.1f} points | "
              f"{100 * r['agreement']:.1f} % | {below} |")
    summary = {}
    for kind in sorted({r["fold"].split("-")[0] for r in rows}):
        mine = [r for r in rows if r["fold"].startswith(kind + "-")]
        summary[kind] = {k: statistics.mean(r[k] for r in mine) for k in ("float_uar", "int8_uar", "drop", "agreement")}
        s = summary[kind]
        print(f"| **{kind} mean ({len(mine)})** | {100 * s['float_uar']:.1f} % | {100 * s['int8_uar']:.1f} % | "
              f"{100 * s['drop']:.1f} points | {100 * s['agreement']:.1f} % | |")
    if args.json:
        args.json.write_text(json.dumps({"folds": rows, "summary": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

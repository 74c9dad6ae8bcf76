"""The shipped recipe against issue 23's targets: one table, each figure met or not, the functionals
baseline beside it where there is one.

    python benchmarks/targets.py --cv benchmarks/cv/fusion-s1-corpus.json --cv benchmarks/cv/fusion-s2-corpus.json \
        --cv benchmarks/cv/fusion-s0-speaker.json [--cv4 benchmarks/cv/fusion-4c-s1-corpus.json] \
        [--baseline benchmarks/cv/func-prosody-corpus.json --baseline benchmarks/cv/func-prosody-speaker.json] \
        [--baseline4 benchmarks/cv/func-prosody-4c-corpus.json] [--int8 benchmarks/cv/fusion-int8.json] \
        [--events benchmarks/cv/fusion-events.json] [--bundle models/default [--bundle BUNDLE]] [--no-bench] \
        [--json out.json]

Cross-validated figures come from `ser-train cv` cv.json files (or cv folders, finished folds only)
of the shipped recipe: float fold models, clip level; a speaker-normalised recipe's figures are
adapted to each test speaker from all of their other clips, its cold start printed beside. Means
and sd are over every fold given: with several seeds' cv.json, over folds x seeds. The class row
pools each recipe's leave-one-corpus-out confusions (7-class: --cv, the default bundle's recipe;
4-class: --cv4). int8 against float comes from benchmarks/cv_int8.py over the recipe's folds
(utterance decisions for a fusion recipe) and from each bundle's manifest (its utterance head's
decisions when it has one); the events per minute from benchmarks/loco_events.py; the device
figures from `ser-edge bench --json` run here (the machine's load printed with them). No figure is
timed inside a test: this prints, it does not pass or fail. `ser-convert card --targets` reads the
``--json`` rows (figure, target, measured, met, baseline).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEYS = ("figure", "target", "measured", "met", "baseline")
Figure = Optional[tuple]  # (mean, sd, folds, (folds of each cv run, ...)) or None


def folds_of(paths: Sequence[Path]) -> dict[str, list[dict]]:
    """kind ("corpus", "speaker") -> folds, from cv.json files or `ser-train cv` folders (an unfinished
    one too: its finished folds' fold.json); each fold's ``_run`` is the position of its file in ``paths``."""
    out: dict[str, list[dict]] = {}
    for run, path in enumerate(paths):
        if path.is_dir() and not (path / "cv.json").is_file():
            folds = [json.loads(p.read_text()) for p in sorted(path.glob("*/fold.json"))]
        else:
            folds = json.loads((path / "cv.json" if path.is_dir() else path).read_text())["folds"]
        for fold in folds:
            out.setdefault(fold["kind"], []).append({**fold, "_run": run})
    return out


def _mean(values: Sequence[Optional[float]], runs: Sequence[int] = ()) -> Figure:
    """(mean, sd, n, ``runs``) of the values given (None left out); ``runs``: how many folds each cv run gave."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0), len(values), tuple(runs)


def pooled_recall(folds: Sequence[dict]) -> Optional[dict[str, float]]:
    """label -> recall over the folds' pooled confusions (labels without test clips left out); the
    mean of their ``per_class_recall`` where a fold has no confusion."""
    if not folds:
        return None
    if all("confusion" in f["metrics"] for f in folds):
        labels = folds[0]["metrics"]["confusion"]["labels"]
        rows = {k: [0] * len(labels) for k in labels}
        for f in folds:
            c = f["metrics"]["confusion"]
            for label, row in zip(c["labels"], c["matrix"]):
                rows[label] = [a + b for a, b in zip(rows[label], row)]
        return {k: r[labels.index(k)] / sum(r) for k, r in rows.items() if sum(r)}
    labels = folds[0]["metrics"]["per_class_recall"]
    return {k: statistics.mean(v) for k in labels
            if (v := [f["metrics"]["per_class_recall"].get(k) for f in folds if f["metrics"]["per_class_recall"].get(k) is not None])}


def cv_figures(folds: dict[str, list[dict]], condition: str = "all") -> dict:
    """The cross-validated target figures; ``condition`` "cold" reads a speaker-normalised fold's cold start."""
    def metrics(fold: dict) -> dict:
        return (fold.get("adapted") or {}).get(condition, fold["metrics"]) if condition != "all" else fold["metrics"]

    def figure(kind: str, key: str) -> Figure:
        mine = folds.get(kind, [])
        runs = [f.get("_run", 0) for f in mine]
        return _mean([metrics(f).get(key) for f in mine], [runs.count(r) for r in sorted(set(runs))])

    return {"loco_uar7": figure("corpus", "uar"), "loco_uar4": figure("corpus", "uar4"),
            "loco_arousal": figure("corpus", "arousal_bacc"), "speaker_uar7": figure("speaker", "uar"),
            "pooled_recall": pooled_recall(folds.get("corpus", [])) if condition == "all" else None}


def bench(bundle: Path) -> Optional[dict]:
    """`ser-edge bench --json` on ``bundle``; None (said on stderr) if it fails."""
    cmd = [str(Path(sys.executable).parent / "ser-edge"), "bench", "-m", str(bundle), "--json", "--realtime-seconds", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"targets: bench of {bundle} failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def _fmt(x: Figure, scale: float = 100.0, digits: int = 1) -> str:
    if x is None:
        return "not measured"
    mean, sd, n, runs = (*x, ())[:4]
    if len(runs) <= 1:
        folds = f"{n} folds"
    elif len(set(runs)) == 1:
        folds = f"{n} folds: {runs[0]} x {len(runs)} seeds"
    else:
        folds = f"{n} folds of {len(runs)} cv runs: {' + '.join(map(str, runs))}"
    return f"{scale * mean:.{digits}f} ± {scale * sd:.{digits}f} ({folds})"


def _above(x: Figure, goal: float, base: Figure) -> tuple[str, str]:
    """(met, what is said of the baseline): met when x's mean reaches ``goal`` and beats the baseline's."""
    if x is None:
        return "n/a", ""
    if base is None:
        return ("met" if x[0] >= goal else "not met"), "; no baseline given"
    lead = 100 * (x[0] - base[0])
    return ("met" if x[0] >= goal and x[0] > base[0] else "not met"), f"; {lead:+.1f} points on the baseline"


def cv_rows(shipped: dict, cold: dict, baseline: dict, four: Optional[dict] = None, four_cold: Optional[dict] = None,
            baseline4: Optional[dict] = None) -> list[tuple]:
    """The accuracy rows (figure, target, measured, met, baseline); ``four``: the 4-class recipe's figures."""
    baseline4 = baseline4 or {}
    loco4, cold4 = (four["loco_uar4"], (four_cold or {}).get("loco_uar4")) if four else (shipped["loco_uar4"], cold["loco_uar4"])
    base4 = baseline4.get("loco_uar4") if four else baseline.get("loco_uar4")
    out = []
    for figure, goal, x, c, base in (
            ("leave-one-corpus-out mean, 7-class UAR", 0.45, shipped["loco_uar7"], cold["loco_uar7"], baseline.get("loco_uar7")),
            ("leave-one-corpus-out mean, 4-class UAR" + (" (4-class recipe)" if four else " (7-class model over 4 classes)"),
             0.60, loco4, cold4, base4),
            ("leave-one-corpus-out mean, binary arousal balanced accuracy", 0.82, shipped["loco_arousal"], cold["loco_arousal"],
             baseline.get("loco_arousal"))):
        met, said = _above(x, goal, base)
        out.append((figure, f"above the baseline, >= {100 * goal:.0f}", _fmt(x) + f"; cold {_fmt(c)}" + said, met, _fmt(base)))
    speaker = shipped["speaker_uar7"]
    out.append(("speaker folds mean, 7-class UAR", ">= 55", _fmt(speaker) + f"; cold {_fmt(cold['speaker_uar7'])}",
                "n/a" if speaker is None else ("met" if speaker[0] >= 0.55 else "not met"), _fmt(baseline.get("speaker_uar7"))))
    for name, recall, base in (("7-class recipe (models/default)", shipped["pooled_recall"], baseline.get("pooled_recall")),
                               ("4-class recipe (models/4class)", (four or {}).get("pooled_recall"), baseline4.get("pooled_recall"))):
        if recall is None:
            continue
        chance = 1.0 / len(recall)
        out.append((f"{name}: every class, pooled leave-one-corpus-out recall", f">= {100 * chance:.1f} (chance)",
                    _recalls(recall), "met" if min(recall.values()) >= chance else "not met", _recalls(base) if base else ""))
    return out


def _recalls(recall: dict[str, float]) -> str:
    low = min(recall, key=recall.get)
    return f"lowest {low} {100 * recall[low]:.1f}; " + ", ".join(f"{k} {100 * v:.1f}" for k, v in recall.items())


def events_row(results: Sequence[dict]) -> tuple:
    """benchmarks/loco_events.py JSONs -> the events row (mean over every fold given)."""
    folds = [f for r in results for f in r["folds"]]
    runs = [len(r["folds"]) for r in results]
    tuned, default = (_mean([f[k]["per_min"] for f in folds], runs) for k in ("tuned", "default"))
    worst = max(folds, key=lambda f: f["tuned"]["per_min"])
    measured = (f"{_fmt(tuned, 1.0, 2)}, worst {worst['fold']} {worst['tuned']['per_min']:.2f}; "
                f"thresholds at 0.5: {_fmt(default, 1.0, 2)}")
    return ("non-neutral events per minute of the held-out corpus's neutral speech, streamed, thresholds tuned without it "
            "(mean over folds)", "<= 1", measured, "met" if tuned[0] <= 1 else "not met", "")


def int8_rows(results: Sequence[dict]) -> list[tuple]:
    """benchmarks/cv_int8.py JSONs -> a row per fold kind: a fusion fold by its utterance decisions."""
    out = []
    folds = [f for r in results for f in r["folds"]]
    for kind in sorted({f["fold"].split("-")[0] for f in folds}):
        mine = [f for f in folds if f["fold"].startswith(kind + "-")]
        fusion = all("fusion" in f for f in mine)
        pairs = [((f["fusion"]["float"]["uar"], f["fusion"]["int8"]["uar"], f["fusion"]["top1_agreement"]) if fusion
                  else (f["float_uar"], f["int8_uar"], f["agreement"])) for f in mine]
        out.append(_int8_row(f"int8 against float, {kind} folds of the recipe (benchmarks/cv_int8.py, "
                             f"{'utterance' if fusion else 'window'} decisions, {len(mine)} folds)", *map(statistics.mean, zip(*pairs))))
    return out


def _int8_row(figure: str, float_uar: float, int8_uar: float, agreement: float) -> tuple:
    drop, agree = 100 * (float_uar - int8_uar), 100 * agreement
    return (figure, "<= 1 point lower, >= 97 % agree",
            f"{drop:.1f} points lower ({100 * int8_uar:.1f} % against {100 * float_uar:.1f} %), {agree:.1f} % agree",
            "met" if drop <= 1 and agree >= 97 else "not met", "")


def bundle_rows(b: dict) -> list[tuple]:
    """int8 against float (the utterance head's decisions when the bundle has one), size, bench."""
    m, name = b["manifest"], b["name"]
    metrics = m["metrics"]
    if "utterance" in metrics:
        u = metrics["utterance"]
        out = [_int8_row(f"{name}: int8 against float, utterance decisions ({u['clips']} clips of its "
                         f"{metrics['held_out_part']} speakers)", u["float"]["uar"], u["int8"]["uar"], u["top1_agreement"])]
    else:
        out = [_int8_row(f"{name}: int8 against float ({metrics['held_out_part']} speakers)", metrics["float"]["uar"],
                         metrics["float"]["uar"] - metrics["uar_drop"], metrics["top1_agreement"])]
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
    ap.add_argument("--cv", type=Path, action="append", required=True,
                    help="cv.json or cv folder of the shipped 7-class recipe (repeat: seeds, corpus and speaker folds).")
    ap.add_argument("--cv4", type=Path, action="append", default=[], help="cv.json of the shipped 4-class recipe (repeat).")
    ap.add_argument("--baseline", type=Path, action="append", default=[], help="cv.json of the functionals baseline (repeat).")
    ap.add_argument("--baseline4", type=Path, action="append", default=[], help="cv.json of the baseline on 4 classes (repeat).")
    ap.add_argument("--int8", type=Path, action="append", default=[], help="JSON of benchmarks/cv_int8.py (repeat).")
    ap.add_argument("--events", type=Path, action="append", default=[], help="JSON of benchmarks/loco_events.py (repeat).")
    ap.add_argument("--bundle", type=Path, action="append", default=[], help="Shipped bundle folder (repeat).")
    ap.add_argument("--no-bench", action="store_true", help="Skip `ser-edge bench`.")
    ap.add_argument("--json", type=Path, help="Also write the rows as JSON.")
    args = ap.parse_args(argv)
    shipped, cold = cv_figures(folds_of(args.cv)), cv_figures(folds_of(args.cv), "cold")
    four = cv_figures(folds_of(args.cv4)) if args.cv4 else None
    four_cold = cv_figures(folds_of(args.cv4), "cold") if args.cv4 else None
    table = cv_rows(shipped, cold, cv_figures(folds_of(args.baseline)) if args.baseline else {}, four, four_cold,
                    cv_figures(folds_of(args.baseline4)) if args.baseline4 else {})
    if args.events:
        table.append(events_row([json.loads(p.read_text()) for p in args.events]))
    table += int8_rows([json.loads(p.read_text()) for p in args.int8])
    for path in args.bundle:
        table += bundle_rows({"name": path.name, "manifest": json.loads((path / "manifest.json").read_text()),
                              "bench": None if args.no_bench else bench(path)})
    print("| figure (shipped recipe) | target | measured | | functionals baseline (issue 22) |\n|---|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    if args.json:
        args.json.write_text(json.dumps([dict(zip(KEYS, r)) for r in table], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

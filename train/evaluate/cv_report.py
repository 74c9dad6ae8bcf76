"""What `ser-train cv` prints and draws: a line per fold, mean +- sd per fold kind, per-fold bars."""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

import numpy as np

METRICS = ("uar", "uar4", "macro_f1", "arousal_bacc")
HEADINGS = {"uar": "UAR", "uar4": "UAR4", "macro_f1": "macro-F1", "arousal_bacc": "arousal"}


def summarise(folds: Sequence[dict]) -> dict:
    """{"folds": [...], "summary": {kind: {metric: {"mean", "sd", "n"}}}}; sd is the sample sd (0 for one fold)."""
    summary: dict = {}
    for kind in dict.fromkeys(f["kind"] for f in folds):
        mine = [f["metrics"] for f in folds if f["kind"] == kind and f.get("metrics")]
        summary[kind] = {}
        summary[kind].update(_spread(mine))
        for condition in dict.fromkeys(c for f in folds if f["kind"] == kind for c in f.get("adapted", {})):
            adapted = [f["adapted"][condition] for f in folds if f["kind"] == kind and condition in f.get("adapted", {})]
            summary[kind].setdefault("adapted", {})[condition] = _spread(adapted)
        summary[kind]["seconds"] = round(sum(f.get("seconds", 0) for f in folds if f["kind"] == kind), 1)
        summary[kind]["confusion"] = pooled_confusion(mine)
    return {"folds": list(folds), "summary": summary}


def pooled_confusion(figures: Sequence[dict]) -> dict:
    """{"labels", "matrix"}: the folds' clip confusion matrices (rows: true label) summed."""
    with_confusion = [t["confusion"] for t in figures if t.get("confusion")]
    if not with_confusion:
        return {"labels": [], "matrix": []}
    labels = with_confusion[0]["labels"]
    matrix = np.sum([np.asarray(c["matrix"], dtype=int) for c in with_confusion], axis=0)
    return {"labels": list(labels), "matrix": matrix.tolist()}


def _spread(figures: Sequence[dict]) -> dict:
    """{metric: {"mean", "sd", "n"}} over folds' figures; sd is the sample sd (0 for one fold)."""
    out = {}
    for metric in METRICS:
        values = np.array([t[metric] for t in figures], dtype=float)
        sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[metric] = {"mean": float(values.mean()) if len(values) else None, "sd": sd, "n": len(values)}
    return out


def _test_name(fold: dict) -> str:
    if fold["kind"] == "corpus":
        return ",".join(fold["test"]["corpora"])
    return f"{len(fold['test']['speakers'])} spk of {','.join(fold['test']['corpora'])}"


def _top(test: dict) -> str:
    label, share = max(test["predicted_share"].items(), key=lambda kv: kv[1])
    return f"{label} {share:.0%}"


def fold_line(fold: dict) -> str:
    """One finished fold, as printed while cv runs."""
    t = fold["metrics"]
    figures = "  ".join(f"{HEADINGS[m]} {t[m]:.3f}" for m in METRICS)
    mark = " (done before)" if fold.get("resumed") else ""
    adapted = "".join(f"; {c} UAR {a['uar']:.3f}" for c, a in fold.get("adapted", {}).items())
    if fold.get("enrolled"):
        e = fold["enrolled"]
        adapted += f"; enrolled K={e['k']} UAR {e['uar']:.3f} (without {e['base_uar']:.3f})"
    return (f"{fold['name']}: test {_test_name(fold)} ({t['n']} clips): {figures}; most predicted {_top(t)}{adapted}; "
            f"{fold['epochs']} epochs, {fold['seconds'] / 60:.1f} min{mark}")


def format_table(result: dict) -> str:
    """Per fold and mean +- sd per kind, then per-class recall per fold."""
    rows = [["fold", "test", "clips", *(HEADINGS[m] for m in METRICS), "most predicted", "epochs", "min"]]
    for f in result["folds"]:
        t = f["metrics"]
        rows.append([f["name"], _test_name(f), str(t["n"]), *(f"{t[m]:.3f}" for m in METRICS), _top(t),
                     str(f["epochs"]), f"{f['seconds'] / 60:.1f}"])
    for kind, s in result["summary"].items():
        rows.append([f"{kind} mean ± sd", f"{s['uar']['n']} folds", "",
                     *(f"{s[m]['mean']:.3f} ± {s[m]['sd']:.3f}" for m in METRICS), "", "", f"{s['seconds'] / 60:.1f}"])
        for condition, a in s.get("adapted", {}).items():  # speaker-normalised recipes: how adapted
            rows.append([f"  {condition}", f"{a['uar']['n']} folds", "",
                         *(f"{a[m]['mean']:.3f} ± {a[m]['sd']:.3f}" for m in METRICS), "", "", ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
    lines += ["", "recall per class (test clips of each fold; - = class absent):"]
    for f in result["folds"]:
        recall = f["metrics"]["per_class_recall"]
        lines.append(f"  {f['name']}: " + ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in recall.items()))
    lines.append(f"\nwall time {result['wall_seconds'] / 60:.1f} min this run; "
                 f"{sum(f['seconds'] for f in result['folds']) / 60:.1f} min of fold training in all; load {result.get('load')}")
    return "\n".join(lines)


def plot_folds(result: dict, path: Path) -> None:
    """Grouped bars: the four figures of every fold, a dashed line per kind at its mean UAR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folds: List[dict] = [f for f in result["folds"] if f.get("metrics")]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(folds) + 2), 4))
    x = np.arange(len(folds))
    width = 0.8 / len(METRICS)
    for i, metric in enumerate(METRICS):
        ax.bar(x + (i - 1.5) * width, [f["metrics"][metric] for f in folds], width, label=HEADINGS[metric])
    ax.set_xticks(x, [f["name"].replace("corpus-", "test ").replace("speaker-", "spk fold ") for f in folds],
                  rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("test clips (unseen speakers / corpus)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncol=4, fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":  # python -m ser_train.evaluate.cv_report OUT/cv.json: the table again, e.g. for RESULTS.md
    import json
    import sys

    print(format_table(json.loads(Path(sys.argv[1]).read_text())))

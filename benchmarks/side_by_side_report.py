"""Medians, spreads, ratios, accuracy and targets for side_by_side.py, and its table for people."""

from __future__ import annotations

import statistics
from typing import Any, Callable, Optional

import numpy as np

#: figure name -> (unit, how to read it from one worker report per pipeline, or None if absent)
Getter = Callable[[dict], Optional[float]]


def _path(*keys: str) -> Getter:
    def get(report: dict) -> Optional[float]:
        for key in keys:
            report = report.get(key) if isinstance(report, dict) else None
        return report  # type: ignore[return-value]

    return get


def _window(stat: str, part: str = "total") -> dict[str, Getter]:
    return {"device": _path("windows_streaming", part, stat), "notebook": _path("windows", part, stat)}


def _both(*keys: str) -> dict[str, Getter]:
    return {"device": _path(*keys), "notebook": _path(*keys)}


ROWS: list[tuple[str, str, dict[str, Getter]]] = [
    ("per window, p50 (device: streaming)", "ms", _window("p50")),
    ("per window, p95 (device: streaming)", "ms", _window("p95")),
    ("per window CPU time, p50", "ms", _window("p50", "total_cpu")),
    ("per window CPU time, p95", "ms", _window("p95", "total_cpu")),
    ("  features, p50", "ms", _window("p50", "features")),
    ("    of which normalisation, p50", "ms", {"device": _path("windows_streaming", "normalise", "p50"),
                                             "notebook": _path("windows", "normalise", "p50")}),
    ("  model, p50 (notebook: model.predict)", "ms", _window("p50", "inference")),
    ("  model called directly, p50", "ms", {"device": _path("windows_streaming", "inference", "p50"),
                                            "notebook": _path("windows", "inference_direct", "p50")}),
    ("per window from scratch, p50", "ms", {"device": _path("windows_scratch", "total", "p50"),
                                            "notebook": _path("windows", "total", "p50")}),
    ("per window from scratch, p95", "ms", {"device": _path("windows_scratch", "total", "p95"),
                                            "notebook": _path("windows", "total", "p95")}),
    ("per clip, file -> label, p50", "ms", _both("per_clip_ms", "p50")),
    ("per clip, file -> label, p95", "ms", _both("per_clip_ms", "p95")),
    ("imports done", "s", _both("imported_s")),
    ("ready (model loaded)", "s", _both("ready_s")),
    ("first decision", "s", _both("first_decision_s")),
    ("peak RSS, classifying the files", "MB", _both("peak_rss_classify_mb")),
    ("peak RSS, after window timing too", "MB", _both("peak_rss_mb")),
    ("CPU time, whole run", "s", _both("cpu_s")),
]


def _spread(values: list[Optional[float]]) -> dict[str, Optional[float]]:
    known = [float(v) for v in values if v is not None]
    if not known:
        return {"median": None, "min": None, "max": None}
    return {"median": round(statistics.median(known), 4), "min": round(min(known), 4), "max": round(max(known), 4)}


def _scores(predicted: list[int], truth: list[int], n_classes: int) -> dict[str, float]:
    """Accuracy and UAR (mean per-class recall over the classes present)."""
    p, t = np.asarray(predicted), np.asarray(truth)
    recalls = [float(np.mean(p[t == k] == k)) for k in range(n_classes) if np.any(t == k)]
    return {"accuracy": round(float(np.mean(p == t)), 4), "uar": round(float(np.mean(recalls)), 4), "n": int(t.size)}


def summarise(result: dict) -> dict[str, Any]:
    """Per row: each pipeline's median/min/max over runs and the notebook/device ratio of medians."""
    runs = result["runs"]
    rows = []
    for name, unit, getters in ROWS:
        cells = {k: _spread([get(r) for r in runs[k]]) for k, get in getters.items()}
        d, n = cells["device"]["median"], cells["notebook"]["median"]
        rows.append({"figure": name, "unit": unit, **cells, "ratio": round(n / d, 1) if d and n else None})
    for name, key in (("model file", "model_bytes"), ("  weights (int8 / float32)", "weight_bytes")):
        sizes = result[key]
        rows.append({"figure": name, "unit": "kB", "device": {"median": sizes["device"] / 1000},
                     "notebook": {"median": sizes["notebook"] / 1000},
                     "ratio": round(sizes["notebook"] / sizes["device"], 1)})
    n_classes = len(result["labels"])
    accuracy = {k: _scores(runs[k][0]["predicted"], result["truth"], n_classes) for k in runs}
    stable = {k: all(r["predicted"] == runs[k][0]["predicted"] for r in runs[k]) for k in runs}
    return {"rows": rows, "accuracy": accuracy, "same_labels_every_run": stable, "targets": _targets(rows, result)}


def _row(rows: list[dict], name: str) -> dict:
    return next(r for r in rows if r["figure"] == name)


def _targets(rows: list[dict], result: dict) -> list[dict]:
    """The issue's targets (reported, not enforced): figure, goal, measured, met."""
    p50, p95 = _row(rows, "per window, p50 (device: streaming)"), _row(rows, "per window, p95 (device: streaming)")
    scratch, rss = _row(rows, "per window from scratch, p50"), _row(rows, "peak RSS, classifying the files")
    first = _row(rows, "first decision")["device"]["median"]
    cpu = result.get("realtime_cpu", {}).get("percent_of_one_core")
    checks = [
        ("per-window latency >= 20x lower than librosa+Keras (p50, streaming)", p50["ratio"], ">= 20", lambda v: v >= 20),
        ("  same, device computing each window from scratch (p50)", scratch["ratio"], ">= 20", lambda v: v >= 20),
        ("device per-window p95, ms", p95["device"]["median"], "< 2", lambda v: v < 2),
        ("  same, CPU time (a busy machine's preemptions excluded)",
         _row(rows, "per window CPU time, p95")["device"]["median"], "< 2", lambda v: v < 2),
        ("device peak RSS, MB", rss["device"]["median"], "< 60", lambda v: v < 60),
        ("peak RSS ratio, TensorFlow pipeline / device", rss["ratio"], ">= 10", lambda v: v >= 10),
        ("first decision after process start, s", first, "<= 1", lambda v: v <= 1),
        ("CPU streaming live, % of one core", cpu, "< 2", lambda v: v < 2),
    ]
    return [{"target": t, "goal": g, "measured": v, "met": None if v is None else bool(ok(v))} for t, v, g, ok in checks]


def _cell(cell: dict) -> str:
    med = cell.get("median")
    if med is None:
        return "-"
    text = _num(med)
    if cell.get("min") is not None and cell["max"] != cell["min"]:
        text += f" ({_num(cell['min'])}-{_num(cell['max'])})"
    return text


def _num(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:#.3g}"


def format_summary(result: dict) -> str:
    """The summary as a table: medians over runs (min-max), ratios, accuracy, targets."""
    s, runs = result["summary"], result["runs"]
    loads = [r["load_1m_before"] for k in runs for r in runs[k]]
    lines = [f"{result['model_id']} ({result.get('normalisation', 'window_cmvn')}); "
             f"{len(result['truth'])} held-out clips ({', '.join(result['held_out_speakers'])}); "
             f"{len(runs['device'])} run(s) each, median (min-max); machine {result['machine']['cpu']}, "
             f"{result['machine']['cores']} cores, 1-min load {min(loads):.1f}-{max(loads):.1f} during the runs", "",
             f"{'':38s}{'ser-edge (int8 TFLite)':>28s}{'librosa + Keras':>28s}{'ratio':>8s}"]
    for row in s["rows"]:
        ratio = f"{row['ratio']:.1f}x" if row["ratio"] is not None else "-"
        lines.append(f"{row['figure'] + ', ' + row['unit']:38s}{_cell(row['device']):>28s}"
                     f"{_cell(row['notebook']):>28s}{ratio:>8s}")
    for key in ("accuracy", "uar"):
        lines.append(f"{key + ' (clip level)':38s}{s['accuracy']['device'][key]:>28.3f}"
                     f"{s['accuracy']['notebook'][key]:>28.3f}")
    lines += ["", "targets (reported, not enforced):"]
    for t in s["targets"]:
        mark = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        lines.append(f"  {t['target']:66s} {t['goal']:>6s}  measured {t['measured']}  {mark}")
    return "\n".join(lines)

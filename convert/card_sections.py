"""The figure sections of a model card: cross-validation (`ser-train cv` cv.json), the bundle's own
parity and event figures (its manifest), and the targets table (`benchmarks/targets.py --json`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from .gate import class_gate

KINDS = {"corpus": "leave one corpus out", "speaker": "speaker folds over all corpora"}
CONDITIONS = {"cold": "cold start (the prior alone)", "30s": "after 30 s of the speaker's speech",
              "all": "after all of the speaker's other clips", "neutral30s": "after 30 s of the speaker's neutral speech"}


def pct(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def confusion_table(confusion: dict) -> list[str]:
    labels = confusion["labels"]
    lines = ["| true \\ predicted | " + " | ".join(labels) + " | recall |", "|---" * (len(labels) + 2) + "|"]
    for label, row in zip(labels, confusion["matrix"]):
        total = sum(row)
        recall = row[labels.index(label)] / total if total else None
        lines.append(f"| **{label}** | " + " | ".join(str(v) for v in row) + f" | {pct(recall)} |")
    return lines


def _mean_sd(s: dict, key: str) -> str:
    return "n/a" if s[key]["mean"] is None else f"{pct(s[key]['mean'])} ± {100 * s[key]['sd']:.1f}"


def cv_section(cv: dict, source: Optional[Path] = None, card_dir: Optional[Path] = None) -> list[str]:
    """The fold table of a cv.json: per fold, mean ± sd per fold kind, cold against adapted, pooled confusion."""
    lines = ["| fold | test | UAR | UAR4 | macro-F1 | arousal | clips |", "|---|---|---|---|---|---|---|"]
    for f in cv["folds"]:
        t = f["metrics"]
        lines.append(f"| {f['name']} | {', '.join(f['test']['corpora'])} ({len(f['test']['speakers'])} speakers) | "
                     f"{pct(t['uar'])} | {pct(t['uar4'])} | {pct(t['macro_f1'])} | {pct(t['arousal_bacc'])} | {t['n']} |")
    lines.append("")
    for kind, s in cv["summary"].items():
        figures = ", ".join(f"{name} {_mean_sd(s, key)}" for key, name in
                            (("uar", "UAR"), ("uar4", "UAR4"), ("macro_f1", "macro-F1"), ("arousal_bacc", "arousal")))
        lines.append(f"- {KINDS.get(kind, kind)} ({s['uar']['n']} folds): {figures}")
    for kind, s in cv["summary"].items():
        if s.get("adapted"):
            lines += ["", f"Cold start against adapted ({KINDS.get(kind, kind)}, mean ± sd over folds):", "",
                      "| statistics | UAR | UAR4 | arousal |", "|---|---|---|---|"]
            lines += [f"| {CONDITIONS.get(c, c)} | {_mean_sd(a, 'uar')} | {_mean_sd(a, 'uar4')} | {_mean_sd(a, 'arousal_bacc')} |"
                      for c, a in s["adapted"].items()]
    for kind, s in cv["summary"].items():
        if (s.get("confusion") or {}).get("labels"):
            lines += ["", f"Test clips of every {KINDS.get(kind, kind)} fold, pooled (rows: true label):", "",
                      *confusion_table(s["confusion"]), "", "Pooled recall per class: " + pooled_recall(s["confusion"])]
            image = _confusion_image(source, kind) if source else None
            if image is not None:
                shown = os.path.relpath(image, card_dir) if card_dir else str(image)
                lines += ["", f"![pooled confusion, {KINDS.get(kind, kind)}]({shown})"]
    return lines + ["", f"Measured on {cv.get('machine', '?')}, {cv.get('date', '')}, "
                        f"{cv.get('wall_seconds', 0) / 60:.0f} min wall for the run.", ""]


def pooled_recall(confusion: dict) -> str:
    """"neutral 40.1 %, happy ..." from a pooled confusion {labels, matrix} (rows: true label)."""
    out = []
    for label, row in zip(confusion["labels"], confusion["matrix"]):
        total = sum(row)
        out.append(f"{label} {pct(row[confusion['labels'].index(label)] / total) if total else 'no clips'}")
    return ", ".join(out) + "."


def _confusion_image(source: Path, kind: str) -> Optional[Path]:
    """The pooled confusion image beside a cv.json: `ser-train cv`'s own ``confusion-<kind>.png``, or
    ``<name>-<kind>-confusion.png`` beside a copy named ``<name>-<kind>.json`` (benchmarks/cv)."""
    for name in (f"confusion-{kind}.png", f"{source.stem.rsplit('-', 1)[0]}-{kind}-confusion.png"):
        if (source.parent / name).is_file():
            return source.parent / name
    return None


def parity_section(metrics: dict) -> list[str]:
    """Float against int8 on the bundle's held-out (validation) speakers, from ser-convert's parity."""
    part = metrics.get("held_out_part", "test")
    speakers = ", ".join(metrics.get("held_out_speakers", []))
    lines = [f"On its {part} speakers ({speakers}), which it was never trained on"
             + (" (they stopped training early)" if part == "validation" else "") + ", clip level:", "",
             "| model | UAR | accuracy | macro-F1 | clips |", "|---|---|---|---|---|"]
    for name in ("float", "int8"):
        r = metrics.get(name)
        if r:
            lines.append(f"| {name} | {pct(r['uar'])} | {pct(r['accuracy'])} | {pct(r['macro_f1'])} | {r['n']} |")
    utterance = metrics.get("utterance")
    if metrics.get("int8"):
        lines += ["", f"int8 and float agree on the top class for {pct(metrics.get('top1_agreement'))} of "
                  f"{metrics.get('windows')} windows; int8 UAR is {100 * metrics.get('uar_drop', 0):.1f} points lower."]
    if utterance:
        lines += ["", "What the device decides of each clip, through the utterance head (the rows above are the "
                  "mean of its windows):", "", "| decision | UAR | accuracy | macro-F1 | clips |", "|---|---|---|---|---|"]
        lines += [f"| utterance, {name} windows | {pct(r['uar'])} | {pct(r['accuracy'])} | {pct(r['macro_f1'])} | {r['n']} |"
                  for name, r in (("float", utterance["float"]), ("int8", utterance["int8"]))]
        lines += ["", f"They agree on {pct(utterance['top1_agreement'])} of {utterance['clips']} clips. Recall per class "
                  "(int8): " + ", ".join(f"{k} {pct(v)}" for k, v in utterance["int8"]["per_class_recall"].items()) + "."]
    judged = utterance["int8"] if utterance else metrics.get("int8")
    if judged:
        lines += ["", "Confusion matrix of the int8 " + ("utterance decisions" if utterance else "model")
                  + " (rows: true label):", "", *confusion_table(judged["confusion"]), "", _gate_line(judged)]
        if utterance and metrics.get("int8"):  # `scope = "window"` decides by the windows: judged too
            lines += ["", _gate_line(metrics["int8"], "Class gate on the window decisions (`scope = \"window\"`)")]
    return lines + [""]


def _gate_line(int8: dict, name: str = "Class gate") -> str:
    """The class gate's verdict on these speakers (`ser_convert.gate`), for bundles made before it too."""
    gate = class_gate(int8)
    if gate.passed:
        return f"{name}: passed (every class recalled at least {pct(gate.floor)}: half the UAR, at least chance)."
    below = ", ".join(f"{label} {pct(r)}" for label, r in gate.below.items())
    return (f"{name}: **failed** (floor {pct(gate.floor)}: half the UAR, at least chance; below it: {below}). "
            "ser-convert no longer writes such a bundle.")


def events_section(thresholds: dict, events: Optional[dict]) -> list[str]:
    """The tuned thresholds and what they do on neutral speech, on emotional speech and on noise."""
    if not events:
        return ["No thresholds were tuned for this bundle: every label needs the config's `threshold` (0.5).", ""]
    s = events["smoothing"]
    lines = [f"`ser-convert tune` listened to the held-out speakers {', '.join(events['speakers'])} through the "
             "device pipeline (each speaker's clips in a shuffled order, 2 s pauses; the adapter starting from the "
             "prior) and to 12 minutes of white, pink and brown noise at -40 and -20 dBFS. It chose, with "
             f"smoothing over {s['average_windows']} windows and {s['min_duration_s']} s (hold {s['hold_s']} s):", "",
             "| label | threshold |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in thresholds.items()]
    lines += ["", "| thresholds | non-neutral events per minute of neutral speech | events per minute of noise | "
                  "emotional clips with their own label's event |", "|---|---|---|---|"]
    for name, key in (("all 0.5 (untuned)", "default"), ("tuned", "tuned")):
        f = events[key]
        lines.append(f"| {name} | {f['false_per_min']:.2f} | {f['noise_events_per_min']:.2f} | {pct(f['mean_detection'])} |")
    per = ", ".join(f"{k} {pct(v)}" for k, v in events["tuned"]["detection"].items())
    return lines + ["", f"Per label, tuned: {per} ({events['tuned']['neutral_minutes']:.1f} min of neutral speech). "
                        "A config's `threshold` raises them where it is higher; its per-label `thresholds` replace them.", ""]


def targets_section(rows: Sequence[dict]) -> list[str]:
    lines = ["| figure | target | measured | | baseline |", "|---|---|---|---|---|"]
    lines += [f"| {r['figure']} | {r['target']} | {r['measured']} | {r['met']} | {r['baseline']} |" for r in rows]
    return lines + ["", "Printed by `benchmarks/targets.py` (docs/BENCHMARKS.md); cross-validated figures are float fold models, adapted, with the cold start beside.", ""]

"""int8 against float over the folds of a `ser-train cv` run: every fold's model quantized as the
shipped bundles are, then both scored on that fold's own test speakers.

    python benchmarks/cv_int8.py runs/cv-shipped [--json benchmarks/cv/shipped-int8.json]

Per fold: clip-level UAR of the float and the int8 model (7 classes, or the run's label set),
their difference, the window-level top-1 agreement (`ser_convert.parity`) and the class gate's
verdict on the int8 model (`ser_convert.gate`: measured here, not enforced); then the mean over
folds of each kind. A speaker-normalised recipe is scored with each test speaker's
statistics from all of their clips, as ser-convert's parity does. About 40 s a fold on 2 cores.

A fusion recipe (``--head fusion``) is also decided per clip as the device decides it: the
utterance head on the float and on the int8 windows' scores (`ser_convert.utterance`), with the cv's
figures (`ser_train.evaluate.cv.clip_figures`: UAR, UAR4 over neutral/happy/sad/angry, arousal,
macro-F1), the clips' top-1 agreement, and mean +- sd over the folds of each kind
(`ser_train.evaluate.cv_report.summarise`). A fold made before the device head was saved (only
``head.pkl``) is decided by that regression on the whole-clip statistics it was fitted on, rebuilt
from the feature cache: run from the folder the recipe's relative paths start at.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np

FUSION_KEYS = ("n", "uar", "uar4", "macro_f1", "arousal_bacc", "accuracy", "per_class_recall")
SUMMARY_METRICS = (("uar", "7-class UAR"), ("uar4", "4-class UAR"), ("arousal_bacc", "arousal"), ("macro_f1", "macro-F1"))


def fold_parity(fold_dir: Path) -> dict:
    """One fold's row: the window figures, and for a fusion run its clip decisions (``fusion``)."""
    from ser_convert.convert import check_parity, convertible, write_bundle
    from ser_convert.gate import class_gate
    from ser_edge.model.load import load_classifier
    from ser_train.fit.run import load_run

    run = convertible(load_run(fold_dir))
    model = run.load_model()
    with tempfile.TemporaryDirectory() as tmp:  # measured, not shipped: past the class gate, which is reported
        write_bundle(run, model, Path(tmp))
        parity, float_scores, int8_scores = check_parity(run, model, load_classifier(Path(tmp)))
    row = {"fold": fold_dir.name, "float_uar": parity.float_report["uar"], "int8_uar": parity.int8_report["uar"],
           "drop": parity.uar_drop, "agreement": parity.agreement, "windows": parity.windows,
           "int8_per_class_recall": parity.int8_report["per_class_recall"],
           "gate": class_gate(parity.int8_report).to_dict()}
    if run.config.model.head == "fusion":
        row["fusion"] = fusion_figures(run, parity.source, float_scores, int8_scores)
    return row


def fusion_figures(run, part: str, float_scores: np.ndarray, int8_scores: np.ndarray) -> dict:
    """The fusion decisions of ``run.windows(part)``'s clips from both models' window scores (n, classes):
    {"head", "clips", "top1_agreement", "float": cv figures, "int8": cv figures}."""
    from ser_convert.parity import top1_agreement
    from ser_train.evaluate.cv import clip_figures

    kind, decide = _decider(run, part)
    ids, float_clips = decide(float_scores)
    _, int8_clips = decide(int8_scores)
    data = SimpleNamespace(clips=run.clips(), label_set=run.label_set)
    figures = [clip_figures(ids, s, data) for s in (float_clips, int8_clips)]
    return {"head": kind, "clips": len(ids), "top1_agreement": top1_agreement(float_clips, int8_clips),
            "float": {k: figures[0][k] for k in FUSION_KEYS}, "int8": {k: figures[1][k] for k in FUSION_KEYS}}


def _decider(run, part: str):
    """(which head, window scores (windows, classes) -> (clip positions (n,), decisions (n, classes))):
    the device head when the run saved it, else the training regression (``head.pkl``)."""
    from ser_convert.utterance import clip_scores, run_head
    from ser_train.fit.utterance import DEVICE_HEAD_FILE, HEAD_FILE, FusionHead

    if (run.path / DEVICE_HEAD_FILE).is_file():
        _, head, numbers, z = run_head(run)
        return "device", lambda scores: clip_scores(run, head, numbers, z, part, scores)
    if not (run.path / HEAD_FILE).is_file():
        raise SystemExit(f"cv_int8: {run.path} is a fusion run without {DEVICE_HEAD_FILE} or {HEAD_FILE}")
    fusion = FusionHead(pickle.loads((run.path / HEAD_FILE).read_bytes()))
    stats = _whole_clip_table(run).part(run.clips(), run.speaker_split(), part)
    windows = run.windows(part)
    return "head.pkl (whole-clip statistics)", lambda scores: fusion.scores(lambda x: scores, windows, stats)


def _whole_clip_table(run):
    """The run's clips' functionals as runs before `segment_vector` computed them (over all hops)."""
    from ser_edge.frontend.functionals import clip_vector
    from ser_edge.frontend.prosody import PROSODY_COLUMNS
    from ser_train.fit.functionals import clip_table

    def vector(feats, params) -> np.ndarray:
        tracks = None if feats.prosody is None else dict(zip(PROSODY_COLUMNS, np.asarray(feats.prosody, np.float64).T))
        return clip_vector(feats.frames, feats.speech, tracks, params.hop_ms / 1000.0)

    return clip_table(run.config, run.clips(), run.speaker_split(), run.label_set, vector=vector)


def fusion_summary(rows: list[dict]) -> dict:
    """{kind: {"float": {metric: {mean, sd, n}}, "int8": ..., "top1_agreement": mean}} over the fusion folds."""
    from ser_train.evaluate.cv_report import METRICS, summarise

    out = {}
    for kind in sorted({r["fold"].split("-")[0] for r in rows if "fusion" in r}):
        mine = [r["fusion"] for r in rows if "fusion" in r and r["fold"].startswith(kind + "-")]
        out[kind] = {model: {m: summarise([{"kind": kind, "metrics": f[model]} for f in mine])["summary"][kind][m]
                             for m in METRICS} for model in ("float", "int8")}
        out[kind]["top1_agreement"] = statistics.mean(f["top1_agreement"] for f in mine)
    return out


def print_fusion(rows: list[dict], summary: dict) -> None:
    print("\nUtterance (fusion) decisions on the test speakers, float vs int8 windows:\n")
    print("| fold | head | clips | UAR float | UAR int8 | UAR4 float | UAR4 int8 | arousal float | arousal int8 | "
          "top-1 agreement |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "fusion" in r:
            f = r["fusion"]
            cells = " | ".join(f"{100 * f[m][k]:.1f}" for k in ("uar", "uar4", "arousal_bacc") for m in ("float", "int8"))
            print(f"| {r['fold']} | {f['head']} | {f['clips']} | {cells} | {100 * f['top1_agreement']:.1f} % |")
    for kind, s in summary.items():
        print(f"\n{kind} folds, mean +- sd (%), top-1 agreement {100 * s['top1_agreement']:.1f} %:\n\n"
              "| metric | float | int8 |\n|---|---|---|")
        for metric, name in SUMMARY_METRICS:
            a, b = s["float"][metric], s["int8"][metric]
            print(f"| {name} | {100 * a['mean']:.1f} +- {100 * a['sd']:.1f} | {100 * b['mean']:.1f} +- {100 * b['sd']:.1f} |")


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
    fusion = fusion_summary(rows)
    if fusion:
        print_fusion(rows, fusion)
    if args.json:
        args.json.write_text(json.dumps({"folds": rows, "summary": summary, **({"fusion": fusion} if fusion else {})},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

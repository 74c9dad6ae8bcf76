"""Non-neutral emotion events per minute of a held-out corpus's neutral speech, thresholds tuned
without that corpus: issue 23's events target, measured over the leave-one-corpus-out folds of a cv.

    python benchmarks/loco_events.py runs/cv-fusion-s1-corpus [--data ../shared/data] [--max-false-per-min 0.5] [--json out.json]

For each ``corpus-*`` fold run (one at a time): converted to an int8 bundle as ser-convert makes
one (`ser_convert.convert.convert_run`, class gate off: measured, not shipped) in a temporary
folder; each held-out speaker's neutral clips (the fold's test speakers in ``split.json``; calm
counts as neutral, as training folds it) are joined in a shuffled order with `GAP_S` of -70 dBFS
noise between them, as `ser_train.evaluate.tune.speaker_stream` joins them, and played through a
fresh `ser_edge.listen.pipeline.Pipeline` with default settings (scope auto: a bundle with an
utterance head raises utterance events) per speaker. Emotion events of a non-neutral label are
counted per minute of neutral clip audio (gaps not counted), first with the thresholds at their
defaults, then after `ser-train tune --write` on the fold's own validation speakers
(`ser_train.evaluate.tune_bundle`: speakers of the training corpora only, so the thresholds never
heard the held-out corpus). About a minute a fold on 2 cores. Run from the folder the recipe's
relative paths start at (its feature cache, and the corpora unless --data says where).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

DEFAULT_DATA = Path(os.environ.get("SER_EDGE_DATA", "../shared/data"))


def data_dirs(fold_dir: Path, data: Optional[Path] = None) -> list[Path]:
    """The fold's corpus folders (its config.json ``data_dirs``): the folder of that name under ``data``
    when given, else as written when it exists from here, else under $SER_EDGE_DATA or ../shared/data."""
    out = []
    for d in json.loads((fold_dir / "config.json").read_text())["data_dirs"]:
        path = data / Path(d).name if data else (Path(d) if Path(d).is_dir() else DEFAULT_DATA / Path(d).name)
        if not path.is_dir():
            raise SystemExit(f"loco_events: {fold_dir}: corpus folder {d} not found (looked in {path}); give --data")
        out.append(path)
    return out


def neutral_streams(bundle_dir: Path, dirs: Sequence[Path], speakers: Sequence[str],
                    seed: int = 0) -> dict[str, tuple[np.ndarray, float]]:
    """speaker -> (float32 mono samples at the bundle's rate, seconds of neutral clip audio): each
    speaker's neutral clips in a shuffled order, `GAP_S` of -70 dBFS noise after each."""
    from ser_edge.audio.read import load_audio
    from ser_edge.model.bundle import load_bundle
    from ser_train.data.corpora import index_folders
    from ser_train.evaluate.clips import label_set_for
    from ser_train.evaluate.tune import GAP_S, _floor

    bundle = load_bundle(bundle_dir)
    rate, label_set = bundle.params.sample_rate, label_set_for(bundle.labels)
    clips = [c for c in index_folders(list(dirs)).clips if c.speaker in set(speakers)
             and (i := label_set.index_of(c.emotion)) is not None and label_set.labels[i] == "neutral"]
    out = {}
    for k, speaker in enumerate(sorted({c.speaker for c in clips})):
        paths = sorted(c.path for c in clips if c.speaker == speaker)
        rng = np.random.default_rng(seed + k)
        parts, seconds = [], 0.0
        for i in rng.permutation(len(paths)):
            x = load_audio(paths[i], rate).astype(np.float32)
            parts += [x, _floor(int(GAP_S * rate), rng)]
            seconds += len(x) / rate
        out[speaker] = (np.concatenate(parts), seconds)
    return out


def count_events(bundle_dir: Path, streams: dict[str, tuple[np.ndarray, float]]) -> dict:
    """Each stream through a fresh default Pipeline of ``bundle_dir`` (its manifest's thresholds):
    {"events", "minutes", "per_min", "by_label", "by_speaker": {speaker: per_min}, "scopes"}."""
    from ser_edge.listen.pipeline import Pipeline
    from ser_edge.model.load import load_classifier

    classifier = load_classifier(bundle_dir)  # one interpreter; each pipeline its own gate, adapter, smoother
    by_label: dict[str, int] = {}
    by_speaker, scopes, total, minutes = {}, set(), 0, 0.0
    for speaker, (samples, seconds) in streams.items():
        pipeline = Pipeline(classifier, status_interval_s=0.0)
        scopes |= set(pipeline.scopes)
        block = pipeline.sample_rate // 10
        events = []
        for i in range(0, len(samples), block):
            events += pipeline.push(samples[i:i + block])
        events += pipeline.finish()
        raised = [e.label for e in events if e.type == "emotion" and e.label != "neutral"]
        for label in raised:
            by_label[label] = by_label.get(label, 0) + 1
        by_speaker[speaker] = len(raised) / (seconds / 60.0)
        total, minutes = total + len(raised), minutes + seconds / 60.0
    return {"events": total, "minutes": minutes, "per_min": total / minutes if minutes else None,
            "by_label": by_label, "by_speaker": by_speaker, "scopes": sorted(scopes)}


def fold_events(fold_dir: Path, data: Optional[Path] = None, seed: int = 0, budget: float = 0.5) -> dict:
    """One fold's row: events per neutral minute of its test speakers, default and tuned thresholds
    (tuned to at most ``budget`` false events a minute of the validation speakers' neutral speech)."""
    from ser_convert.convert import convert_run
    from ser_train.evaluate.tune_bundle import tune_bundle

    split = json.loads((fold_dir / "split.json").read_text())
    test, validation = split["test"], split["validation"]
    if set(test) & set(validation):
        raise SystemExit(f"loco_events: {fold_dir}: validation speakers among the test speakers")
    held_out = sorted({s.split(":")[0] for s in test})
    dirs = data_dirs(fold_dir, data)
    with tempfile.TemporaryDirectory(prefix="loco-events-") as tmp:
        bundle, _ = convert_run(fold_dir, Path(tmp) / "bundle", progress=False, gate=False)
        streams = neutral_streams(bundle, dirs, test, seed)
        if not streams:
            raise SystemExit(f"loco_events: {fold_dir}: no neutral clips of its test speakers in {', '.join(map(str, dirs))}")
        default = count_events(bundle, streams)
        tuning = tune_bundle(bundle, dirs, ",".join(validation), max_false_per_min=budget, write=True)
        tuned = count_events(bundle, streams)
    return {"fold": fold_dir.name, "held_out": held_out, "speakers": len(streams),
            "validation": validation, "tuned_without_held_out": not {s.split(":")[0] for s in validation} & set(held_out),
            "thresholds": tuning["thresholds"], "tune_false_per_min": tuning["tuned"]["false_per_min"], "budget": tuning["max_false_per_min"],
            "tune_detection": tuning["tuned"]["mean_detection"],
            "default": default, "tuned": tuned}


def summary(rows: Sequence[dict]) -> dict:
    """Mean (and sd, max) over folds of the events per minute, default and tuned."""
    out = {}
    for key in ("default", "tuned"):
        values = [r[key]["per_min"] for r in rows if r[key]["per_min"] is not None]
        out[key] = {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "max": max(values), "n": len(values)}
    return out


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cv_dir", type=Path, help="A `ser-train cv` output folder with corpus-* fold runs.")
    ap.add_argument("--data", type=Path, help="Folder of the corpora, where a fold's config paths do not resolve.")
    ap.add_argument("--fold", action="append", default=[], help="Only this fold (e.g. corpus-tess; repeat).")
    ap.add_argument("--max-false-per-min", type=float, default=0.5,
                    help="The tuning budget on the validation speakers (ser-train tune's; default 0.5).")
    ap.add_argument("--json", type=Path, help="Also write the rows and means here.")
    args = ap.parse_args(argv)
    folds = [d.parent for d in sorted(args.cv_dir.glob("*/fold.json"))
             if json.loads(d.read_text()).get("kind") == "corpus" and (not args.fold or d.parent.name in args.fold)]
    if not folds:
        print(f"loco_events: no finished leave-one-corpus-out folds in {args.cv_dir}", file=sys.stderr)
        return 1
    print("| fold | speakers | neutral min | events/min, thresholds 0.5 | tuned | tuned thresholds |\n|---|---|---|---|---|---|")
    rows = []
    for fold in folds:  # one at a time: 2 cores shared with training
        r = fold_events(fold, args.data, budget=args.max_false_per_min)
        rows.append(r)
        print(f"| {r['fold']} | {r['speakers']} | {r['default']['minutes']:.1f} | {r['default']['per_min']:.2f} | "
              f"{r['tuned']['per_min']:.2f} | {json.dumps(r['thresholds'])} |", flush=True)
    s = summary(rows)
    print(f"| **mean ({s['tuned']['n']} folds)** | | | {s['default']['mean']:.2f} +- {s['default']['sd']:.2f} | "
          f"{s['tuned']['mean']:.2f} +- {s['tuned']['sd']:.2f} (max {s['tuned']['max']:.2f}) | |")
    if args.json:
        args.json.write_text(json.dumps({"cv": str(args.cv_dir), "folds": rows, "summary": s}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

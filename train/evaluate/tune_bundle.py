"""`ser-train tune` (also spelt `ser-convert tune`): a bundle's per-label thresholds from held-out
speakers (`ser_train.evaluate.tune`), reported and, with ``write``, kept in its manifest
(``thresholds`` and ``metrics.events``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from ser_edge.errors import ConfigError
from ser_edge.model.bundle import MANIFEST_FILE, THRESHOLDS_FIELD, load_bundle
from ser_edge.model.load import load_classifier
from ser_edge.model.manifest_file import write_manifest
from ser_train.data.corpora import index_folders
from ser_train.data.splits import speaker_ids
from ser_train.evaluate.clips import label_set_for
from ser_train.evaluate.tune import noise_streams, speaker_stream, tune


def tune_bundle(bundle_dir: Path, data_dirs: Sequence[Path], speakers: str, *, max_false_per_min: float = 0.5,
                write: bool = False) -> dict:
    """Record the held-out speakers and the noise through ``bundle_dir``'s model, tune, optionally write."""
    bundle = load_bundle(bundle_dir)
    wanted = tuple(speaker_ids(speakers.split(",")))
    label_set = label_set_for(bundle.labels)  # folds calm into neutral, as training does
    clips = [(c, label_set.labels[i]) for c in index_folders(list(data_dirs)).clips
             if c.speaker in wanted and (i := label_set.index_of(c.emotion)) is not None]
    missing = sorted(set(wanted) - {c.speaker for c, _ in clips})
    if missing:
        raise ConfigError(f"--speakers: no clips of {', '.join(missing)} with the model's labels in the data given")
    classifier = load_classifier(bundle)  # one interpreter for every stream
    recs = [speaker_stream(classifier, [(c.path, label) for c, label in clips if c.speaker == s], seed=i)
            for i, s in enumerate(wanted)]
    noise = [rec for _, rec in noise_streams(classifier)]
    result = tune(recs, noise, bundle.labels, max_false_per_min=max_false_per_min)
    result.update(bundle=str(bundle_dir), speakers=list(wanted), clips=len(clips))
    if write:
        manifest = json.loads((Path(bundle_dir) / MANIFEST_FILE).read_text(encoding="utf-8"))
        manifest[THRESHOLDS_FIELD] = result["thresholds"]
        manifest.setdefault("metrics", {})["events"] = {
            "speakers": list(wanted), "smoothing": {k: result[k] for k in ("average_windows", "min_duration_s", "hold_s")},
            "tuned": _short(result["tuned"]), "default": _short(result["default"])}
        write_manifest(Path(bundle_dir), manifest)
        load_bundle(bundle_dir)  # what was written loads
    return result


def _short(f: dict) -> dict:
    keys = ("false_per_min", "noise_events_per_min", "mean_detection", "detection", "neutral_minutes")
    return {k: (round(f[k], 4) if isinstance(f[k], float) else f[k]) for k in keys}


def format_tuning(result: dict) -> str:
    """A few lines: the default smoothing against each candidate, tuned."""
    def line(name: str, f: dict) -> str:
        detection = f["mean_detection"]
        return (f"  {name:<34} false {f['false_per_min']:.2f}/min of neutral speech, noise {f['noise_events_per_min']:.2f}/min, "
                f"detection {'n/a' if detection is None else f'{100 * detection:.0f} %'}")
    out = [f"{result['bundle']}: {result['clips']} clips of {', '.join(result['speakers'])} "
           f"({result['default']['neutral_minutes']:.1f} min neutral), budget {result['max_false_per_min']}/min"]
    out.append(line("default (3 windows, 1.0 s, 0.5)", result["default"]))
    for c in result["candidates"]:
        out.append(line(f"{c['average_windows']} windows, {c['min_duration_s']} s, tuned", c))
    out.append(f"chosen: average_windows {result['average_windows']}, min_duration_s {result['min_duration_s']}, "
               f"thresholds {json.dumps(result['thresholds'])}")
    return "\n".join(out)

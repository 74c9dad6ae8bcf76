"""The run folder that `ser-train fit` writes and `ser-convert`/`ser-train eval` read.

    run/
      model.keras        the float Keras model
      params.json        FeatureParams.to_dict(): the device front end to use
      labels.json        label names in the model's output order
      normalisation.json how windows are normalised (per window: no statistics; speaker_cmvn:
                         the population prior and the adaptation constants)
      config.json        the TrainConfig used
      split.json         speakers in train / validation / test
      data.json          training data summary: corpora, speakers, clips
      metrics.json       clip-level figures on validation and test speakers
      history.json       per-epoch loss/accuracy
      curves.png, confusion.png
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ser_edge.errors import ConfigError
from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.params import FeatureParams
from ser_edge.model.bundle import normalisation_block

MODEL_FILE = "model.keras"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def data_summary(data) -> dict:
    """Corpora, speakers and clip counts per part of the split (for manifests and cards)."""
    out: dict[str, Any] = {}
    for part in ("train", "validation", "test"):
        clips = [c for c in data.clips if data.split.part_of(c) == part]
        out[part] = {
            "clips": len(clips),
            "speakers": sorted({c.speaker for c in clips}),
            "corpora": dict(Counter(c.corpus for c in clips)),
        }
    out["skipped"] = [{"path": p, "reason": r} for p, r in data.skipped]
    return out


def save_run(run_dir: Path, *, model, config, data, history: dict, metrics: dict) -> None:
    """Write every file of a run folder (see the module docstring)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model.save(run_dir / MODEL_FILE)
    _write_json(run_dir / "params.json", config.params.to_dict())
    _write_json(run_dir / "labels.json", list(data.label_set.labels))
    _write_json(run_dir / "normalisation.json", normalisation_block(config.params, getattr(data, "prior", None)))
    _write_json(run_dir / "config.json", config.to_dict())
    _write_json(run_dir / "split.json", data.split.to_dict())
    _write_json(run_dir / "data.json", data_summary(data))
    _write_json(run_dir / "metrics.json", metrics)
    _write_json(run_dir / "history.json", history)
    from ser_train.fit.plots import plot_confusion, plot_history

    plot_history(history, run_dir / "curves.png")
    if metrics.get("test"):
        plot_confusion(metrics["test"]["confusion"], run_dir / "confusion.png", title="held-out speakers (clip level)")


@dataclass(frozen=True)
class Run:
    """A run folder read back: what a converter or evaluator needs."""

    path: Path
    params: FeatureParams
    labels: tuple[str, ...]
    config: dict
    split: dict
    data: dict
    metrics: dict
    prior: Optional[Prior] = None

    def load_model(self):
        import keras

        return keras.models.load_model(self.path / MODEL_FILE, compile=False)


def is_run_dir(path: Path) -> bool:
    return (Path(path) / MODEL_FILE).is_file() and (Path(path) / "params.json").is_file()


def load_run(path: Path) -> Run:
    """Read a run folder; a missing or broken file is a ConfigError naming it."""
    path = Path(path)
    if not is_run_dir(path):
        raise ConfigError(f"{path}: not a ser-train run folder (needs {MODEL_FILE} and params.json)")

    def read(name: str, default: Any = None) -> Any:
        f = path / name
        if not f.exists() and default is not None:
            return default
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{f}: cannot read it ({exc})") from None

    params = FeatureParams.from_dict(read("params.json"), source=str(path / "params.json"))
    prior = None
    if params.normalisation == "speaker_cmvn":
        try:
            prior = Prior.from_dict(read("normalisation.json").get("statistics"), params.n_mfcc)
        except (ValueError, AttributeError) as exc:
            raise ConfigError(f"{path / 'normalisation.json'}: no usable speaker prior ({exc})") from None
    return Run(path, params, tuple(read("labels.json")), read("config.json", {}), read("split.json", {}),
               read("data.json", {}), read("metrics.json", {}), prior)

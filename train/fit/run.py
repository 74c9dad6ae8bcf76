"""The run folder that `ser-train fit` writes, and `Run`: the one interface through which
`ser-convert` and `ser-train eval` read it.

    run/
      model.keras        the float Keras model
      params.json        FeatureParams.to_dict(): the device front end to use
      labels.json        label names in the model's output order
      normalisation.json how windows are normalised (per window: no statistics; speaker_cmvn:
                         the population prior and the adaptation constants)
      config.json        the TrainConfig used
      split.json         speakers in train / validation / test
      clips.json         every clip of the run in order: path, corpus, speaker, emotion (the
                         windows' clip numbers are positions in it)
      data.json          training data summary: corpora, speakers, clips
      metrics.json       clip-level figures on validation and test speakers
      history.json       per-epoch loss/accuracy
      curves.png, confusion.png

`Run` gives: ``config`` (TrainConfig), ``label_set``, ``params``, ``prior``, ``split``, ``data``,
``metrics``, ``licence`` (the terms the model inherits), ``held_out`` (the part that checks it),
``clip_report(part, scores)``, ``windows(part)`` (train_clean,
validation or test, rebuilt from the feature cache and the run's own clip list: no corpus is
indexed), ``clips()`` and ``load_model()``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ser_edge.errors import ConfigError
from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.params import FeatureParams
from ser_edge.model.bundle import normalisation_block
from ser_train.config import TrainConfig
from ser_train.data.corpora import Clip
from ser_train.data.labels import LabelSet, get_label_set
from ser_train.data.licences import licence_block
from ser_train.data.splits import SpeakerSplit
from ser_train.features.windows import WindowSet
from ser_train.fit.prepare import clean_windows, select_clips
from ser_train.metrics import aggregate_clip_scores, report

MODEL_FILE = "model.keras"
FUNCTIONALS_FILE = "model.functionals.pkl"  # the baseline's (`ser_train.fit.functionals`)
CLIPS_FILE = "clips.json"
log = logging.getLogger(__name__)


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
    model.save(run_dir / getattr(model, "FILE", MODEL_FILE))
    _write_json(run_dir / "params.json", config.params.to_dict())
    _write_json(run_dir / "labels.json", list(data.label_set.labels))
    _write_json(run_dir / "normalisation.json", normalisation_block(config.params, getattr(data, "prior", None)))
    _write_json(run_dir / "config.json", config.to_dict())
    _write_json(run_dir / "split.json", data.split.to_dict())
    _write_json(run_dir / CLIPS_FILE, [{**asdict(c), "path": str(c.path)} for c in data.clips])
    _write_json(run_dir / "data.json", data_summary(data))
    _write_json(run_dir / "metrics.json", metrics)
    _write_json(run_dir / "history.json", history)
    from ser_train.fit.plots import plot_confusion, plot_history  # matplotlib: only when writing

    if history:
        plot_history(history, run_dir / "curves.png")
    if metrics.get("test"):
        plot_confusion(metrics["test"]["confusion"], run_dir / "confusion.png", title="held-out speakers (clip level)")


@dataclass(frozen=True)
class Run:
    """A run folder read back: what a converter or evaluator needs (module docstring)."""

    path: Path
    params: FeatureParams
    labels: tuple[str, ...]
    config: TrainConfig
    split: dict
    data: dict
    metrics: dict
    prior: Optional[Prior] = None
    _windows: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def label_set(self) -> LabelSet:
        return get_label_set(self.config.label_set)

    @property
    def licence(self) -> dict[str, Any]:
        """The data licences the model inherits (its training and validation corpora)."""
        corpora = {c for part in ("train", "validation") for c in self.data.get(part, {}).get("corpora", {})}
        return licence_block(sorted(corpora))

    @property
    def held_out(self) -> str:
        """The part that checks a model: "test", or "validation" for a final model without test speakers."""
        return "test" if self.split.get("test") else "validation"

    def speaker_split(self) -> SpeakerSplit:
        return SpeakerSplit(*(frozenset(self.split.get(k, ())) for k in ("train", "validation", "test")))

    def clips(self) -> list[Clip]:
        """The run's clips in order (clips.json); a run made before that file existed has its
        corpora indexed again (said in the log)."""
        path = self.path / CLIPS_FILE
        if not path.exists():
            log.info("%s: no %s (a run made before it existed): indexing the corpora again", self.path, CLIPS_FILE)
            return select_clips(self.config)[0]
        rows = _read(path)
        try:
            return [Clip(**{**row, "path": Path(row["path"])}) for row in rows]
        except (TypeError, KeyError) as exc:
            raise ConfigError(f"{path}: not a list of clips ({exc})") from None

    def windows(self, part: str) -> WindowSet:
        """Clean windows of ``part`` (train_clean, validation or test), normalised as in training."""
        if part not in ("train_clean", "validation", "test"):
            raise ConfigError(f"run part {part!r} is invalid; allowed: train_clean, validation, test")
        if not self._windows:
            self._windows.update(clean_windows(self.config, self.clips(), self.speaker_split()))
        return self._windows[part]

    def clip_report(self, part: str, window_scores) -> dict:
        """Clip-level figures (`ser_train.metrics.report`) of ``window_scores`` (n, classes) given
        for ``windows(part)``: each clip's windows averaged, as training evaluates."""
        return self.report_of(*aggregate_clip_scores(window_scores, self.windows(part).clip))

    def report_of(self, ids, clip_scores) -> dict:
        """Clip-level figures of ``clip_scores`` (n, classes) for the clips at positions ``ids`` (n,)."""
        clips, label_set = self.clips(), self.label_set
        truth = np.array([label_set.index_of(clips[i].emotion) for i in ids])
        return report(truth, np.asarray(clip_scores).argmax(axis=1), label_set.labels)

    def utterance(self) -> tuple[Optional[dict], np.ndarray, np.ndarray]:
        """A fusion run's device head entry (`ser_edge.model.utterance`; None for other runs) and its
        held-out clips' positions (n,) and z-scored vectors (n, d) (`ser_train.fit.utterance.save_fusion`)."""
        head, vectors = self.path / "utterance.json", self.path / "utterance-vectors.npz"
        if self.config.model.head != "fusion":
            return None, np.zeros(0, np.int64), np.zeros((0, 0))
        if not head.is_file() or not vectors.is_file():
            raise ConfigError(f"{self.path}: a fusion run needs {head.name} and {vectors.name} (made by ser-train fit)")
        with np.load(vectors, allow_pickle=False) as saved:
            return _read(head), saved["numbers"], saved["z"]

    @property
    def kind(self) -> str:
        """The model kind: conv1d (a device model) or functionals (the baseline)."""
        return self.config.model.kind

    def load_model(self):
        """The float Keras model (or, for the baseline, its `FunctionalsModel`)."""
        if self.kind == "functionals":
            import pickle

            return pickle.loads((self.path / FUNCTIONALS_FILE).read_bytes())
        import keras

        return keras.models.load_model(self.path / MODEL_FILE, compile=False)


def is_run_dir(path: Path) -> bool:
    path = Path(path)
    return ((path / MODEL_FILE).is_file() or (path / FUNCTIONALS_FILE).is_file()) and (path / "params.json").is_file()


def _read(path: Path, default: Any = None) -> Any:
    if not path.exists() and default is not None:
        return default
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None


def load_run(path: Path) -> Run:
    """Read a run folder; a missing or broken file is a ConfigError naming it."""
    path = Path(path)
    if not is_run_dir(path):
        raise ConfigError(f"{path}: not a ser-train run folder (needs {MODEL_FILE} and params.json)")
    params = FeatureParams.from_dict(_read(path / "params.json"), source=str(path / "params.json"))
    prior = None
    if params.normalisation == "speaker_cmvn":
        try:
            prior = Prior.from_dict(_read(path / "normalisation.json").get("statistics"), params.n_mfcc)
        except (ValueError, AttributeError) as exc:
            raise ConfigError(f"{path / 'normalisation.json'}: no usable speaker prior ({exc})") from None
    config_file = path / "config.json"
    raw = _read(config_file, {})
    config = TrainConfig.from_dict(raw, source=str(config_file)) if raw else TrainConfig(data_dirs=(), params=params)
    return Run(path, params, tuple(_read(path / "labels.json")), config, _read(path / "split.json", {}),
               _read(path / "data.json", {}), _read(path / "metrics.json", {}), prior)

"""The reference baseline (`--model functionals`): per-clip statistics of the device's own front end
(`ser_edge.frontend.functionals`), normalised per speaker, and a multinomial logistic regression
(scikit-learn; training only, never on the device). Every recipe is reported beside it on the same
folds: a network that does not beat it has learnt less than a few averages.

Speakers: training speakers' vectors are normalised over all of their clips; validation and test
speakers' over their *other* clips (as `ser-train cv`'s "all" condition adapts the network).
Loss weights: every (speaker, class) cell of the training clips weighs the same in total, so
classes are balanced and prolific speakers do not decide (the network's "class+speaker").
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ser_edge.frontend.functionals import segment_vector, speaker_zscore
from ser_train.config import TrainConfig
from ser_train.data.corpora import Clip
from ser_train.data.labels import LabelSet, get_label_set
from ser_train.data.splits import SpeakerSplit
from ser_train.features.cache import FeatureCache, extract
from ser_train.fit.prepare import Prepared, select_clips
from ser_train.fit.run import FUNCTIONALS_FILE, save_run
from ser_train.metrics import report

C = 1.0  # inverse L2 strength of the regression, on standardised statistics


@dataclass
class ClipTable:
    """Functionals of the clips that have features: ``numbers`` (n,) positions in the run's clip
    list, ``x`` (n, d) float64 speaker-normalised vectors, ``y`` (n,) label indices, ``raw`` (n, d)
    the vectors before normalisation (for the device head's population prior)."""

    numbers: np.ndarray
    x: np.ndarray
    y: np.ndarray
    raw: Optional[np.ndarray] = None

    def part(self, clips: Sequence[Clip], split: SpeakerSplit, name: str) -> "ClipTable":
        keep = np.array([split.part_of(clips[i]) == name for i in self.numbers], dtype=bool)
        return ClipTable(self.numbers[keep], self.x[keep], self.y[keep], None if self.raw is None else self.raw[keep])


def clip_table(config: TrainConfig, clips: Sequence[Clip], split: SpeakerSplit, label_set: LabelSet) -> ClipTable:
    """Functionals of every clip of the label set (features from the cache), speaker-normalised."""
    cache = FeatureCache(Path(config.cache_dir), config.params)
    features, _ = extract([c.path for c in clips], cache, workers=config.workers, progress=False)
    numbers, rows, labels = [], [], []
    for i, clip in enumerate(clips):
        feats, label = features.get((clip.path, "clean")), label_set.index_of(clip.emotion)
        if feats is None or label is None:
            continue
        numbers.append(i)
        rows.append(segment_vector(feats.frames, feats.speech, feats.prosody, config.params))
        labels.append(label)
    held_out = [split.part_of(clips[i]) != "train" for i in numbers]
    raw = np.array(rows)
    x = speaker_zscore(raw, [clips[i].speaker for i in numbers], held_out)
    return ClipTable(np.array(numbers, dtype=np.int64), x, np.array(labels, dtype=np.int64), raw)


def fit_functionals(config: TrainConfig) -> tuple["FunctionalsModel", Prepared, ClipTable]:
    """Index and split as `prepare` does, then functionals and the regression on the training
    speakers: (model, the run's data without windows, every clip's functionals)."""
    clips, split, skipped = select_clips(config)
    label_set = get_label_set(config.label_set)
    table = clip_table(config, clips, split, label_set)
    model = FunctionalsModel(len(label_set.labels), config.seed).fit(table.part(clips, split, "train"), clips)
    return model, Prepared(clips=clips, split=split, label_set=label_set, windows={}, skipped=skipped), table


class FunctionalsModel:
    """Standardisation and a multinomial logistic regression; `scores` gives (n, n_classes)
    probabilities in label order (a class absent from training scores 0)."""

    FILE = FUNCTIONALS_FILE  # its file in a run folder (`ser_train.fit.run.save_run`)

    def __init__(self, n_classes: int, seed: int = 0):
        self.n_classes, self.seed = n_classes, seed
        self.mean = self.sd = self.regression = None

    def fit(self, table: ClipTable, clips: Sequence[Clip]) -> "FunctionalsModel":
        from sklearn.linear_model import LogisticRegression

        self.mean, self.sd = table.x.mean(axis=0), np.maximum(table.x.std(axis=0), 1e-6)
        self.regression = LogisticRegression(C=C, max_iter=5000, random_state=self.seed)
        self.regression.fit((table.x - self.mean) / self.sd, table.y, sample_weight=_weights(table, clips))
        return self

    def scores(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), self.n_classes))
        if len(x):
            out[:, self.regression.classes_] = self.regression.predict_proba((x - self.mean) / self.sd)
        return out

    def save(self, path: Path) -> None:
        """Pickled to ``path``: training's own file, never a device format."""
        Path(path).write_bytes(pickle.dumps(self))


def _weights(table: ClipTable, clips: Sequence[Clip]) -> np.ndarray:
    """Per-clip weights, mean 1: each (speaker, class) cell weighs the same in total."""
    keys = [(clips[i].balance_key, int(y)) for i, y in zip(table.numbers, table.y)]
    counts: dict[tuple, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    w = np.array([1.0 / counts[key] for key in keys])
    return w / w.mean()


def part_report(model: FunctionalsModel, table: ClipTable, data: Prepared, part: str) -> Optional[dict]:
    """Clip-level figures (`ser_train.metrics.report`) of the baseline on one part; None if empty."""
    rows = table.part(data.clips, data.split, part)
    if len(rows.y) == 0:
        return None
    return report(rows.y, model.scores(rows.x).argmax(axis=1), data.label_set.labels)


def fit_baseline(config: TrainConfig, run_dir: Path, **_: object) -> dict:
    """`ser-train fit --model functionals`: fit, report validation and test speakers, write the run."""
    started = time.time()
    model, data, table = fit_functionals(config)
    metrics = {"validation": part_report(model, table, data, "validation"), "test": part_report(model, table, data, "test"),
               "clips": {p: int(len(table.part(data.clips, data.split, p).y)) for p in ("train", "validation", "test")},
               "train_seconds": round(time.time() - started, 1), "epochs_run": 0}
    save_run(run_dir, model=model, config=config, data=data, history={}, metrics=metrics)
    return metrics

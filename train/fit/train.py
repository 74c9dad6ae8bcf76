"""`ser-train fit`: corpora -> speaker split -> cached features -> Keras Conv1D -> run folder."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ser_edge.errors import ConfigError
from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.params import FeatureParams

from ser_train.features.speakers import Budget, training_norms, settled_norms, training_prior, voiced_by_clip
from ser_train.features.augment import AugmentConfig, augment_audio, spec_augment
from ser_train.fit.balance import BALANCES, window_weights
from ser_train.data.corpora import Clip, index_folders
from ser_train.features.windows import WindowSet, build_windows
from ser_train.features.cache import FeatureCache, extract
from ser_train.data.labels import LabelSet, get_label_set
from ser_train.metrics import aggregate_clip_scores, report
from ser_train.fit.model import ModelConfig, build_model
from ser_train.data.splits import SpeakerSplit, make_split, speaker_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything a run depends on; written to the run folder as config.json."""

    data_dirs: tuple[str, ...]
    label_set: str = "7class"
    test_speakers: tuple[str, ...] = ()
    validation_speakers: tuple[str, ...] = ("ravdess:15", "ravdess:16")
    exclude_speakers: tuple[str, ...] = ()  # left out of every part (e.g. to measure fewer speakers)
    epochs: int = 60  # upper bound; early stopping on validation speakers ends sooner
    batch_size: int = 64
    learning_rate: float = 1e-3  # Adam, halved when validation loss stalls
    patience: int = 10  # epochs without validation improvement before stopping
    seed: int = 0
    balance: str = "class+speaker"  # "class": classes weigh the same; "+speaker": speakers too; "+corpus": corpora too
    label_smoothing: float = 0.0  # share of each target spread evenly over the classes
    mixup: float = 0.0  # Beta(a, a) of mixup between windows of a batch; 0 = off
    monitor: str = "val_uar"  # early stopping on validation clip-level UAR, or "val_loss"
    workers: int = 0  # feature extraction processes; 0 = all cores
    cache_dir: str = ".cache/features"
    # speaker_cmvn: each training speaker's statistics from random budgets of their speech (ser_train.features.speakers)
    budget_min_s: float = 3.0
    budget_max_s: float = 0.0  # 0 = up to all of the speaker's speech
    budget_draws: int = 8
    params: FeatureParams = field(default_factory=FeatureParams)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig.default)

    def __post_init__(self) -> None:
        if not (isinstance(self.mixup, (int, float)) and 0.0 <= self.mixup <= 10.0):
            raise ConfigError(f"mixup={self.mixup!r} is invalid; allowed: 0 (off) or a Beta alpha up to 10, e.g. 0.4")
        if self.balance not in BALANCES:
            raise ConfigError(f"balance={self.balance!r} is invalid; allowed: {', '.join(BALANCES)}")
        if not (isinstance(self.label_smoothing, (int, float)) and 0.0 <= self.label_smoothing < 0.5):
            raise ConfigError(f"label_smoothing={self.label_smoothing!r} is invalid; allowed: 0 (off) up to 0.5, e.g. 0.1")
        if not (self.budget_min_s > 0 and self.budget_max_s >= 0 and isinstance(self.budget_draws, int) and self.budget_draws >= 1):
            raise ConfigError(f"speech budget min {self.budget_min_s!r} s, max {self.budget_max_s!r} s, draws "
                              f"{self.budget_draws!r} is invalid; allowed: min > 0 s, max >= 0 s (0 = all), draws >= 1")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.update(params=self.params.to_dict(), model=self.model.to_dict(), augment=self.augment.to_dict())
        data.update(data_dirs=list(self.data_dirs), test_speakers=list(self.test_speakers),
                    validation_speakers=list(self.validation_speakers), exclude_speakers=list(self.exclude_speakers))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "TrainConfig":
        """Inverse of `to_dict` (a run's config.json); unknown keys are a ConfigError."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown training setting(s) {', '.join(unknown)}")
        if "params" in data:
            data["params"] = FeatureParams.from_dict(data["params"], source=source)
        if "model" in data:
            data["model"] = ModelConfig(**data["model"])
        if "augment" in data:
            data["augment"] = AugmentConfig.from_dict(data["augment"], source=source)
        for key in ("data_dirs", "test_speakers", "validation_speakers", "exclude_speakers"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass
class Prepared:
    """The data of a run: clips, their split and windows per part (train, train_clean, validation, test)."""

    clips: list[Clip]
    split: SpeakerSplit
    label_set: LabelSet
    windows: dict[str, WindowSet]
    skipped: list[tuple[str, str]]
    prior: Optional[Prior] = None  # speaker_cmvn: the population prior over the training speakers


def prepare(config: TrainConfig, *, progress: bool = True) -> Prepared:
    """Index, split by speaker, extract (cached) clean and augmented features, cut windows."""
    label_set = get_label_set(config.label_set)
    index = index_folders([Path(d) for d in config.data_dirs])
    excluded = set(speaker_ids(config.exclude_speakers))
    unknown = sorted(excluded - {c.speaker for c in index.clips})
    if unknown:
        raise ConfigError(f"exclude_speakers: {', '.join(unknown)} not in the data")
    clips = [c for c in index.clips if label_set.index_of(c.emotion) is not None and c.speaker not in excluded]
    skipped = [(str(p.path), p.reason) for p in index.problems]
    split = make_split({c.speaker for c in clips}, test=speaker_ids(config.test_speakers),
                       validation=speaker_ids(config.validation_speakers))
    parts = {k: [c for c in clips if split.part_of(c) == k] for k in ("train", "validation", "test")}
    if not parts["train"] or not parts["validation"]:
        raise ConfigError("the split leaves no training or no validation clips; check --test-speakers/--validation-speakers")
    cache = FeatureCache(Path(config.cache_dir), config.params)
    all_paths = [c.path for c in clips]
    features, failed = extract(all_paths, cache, workers=config.workers, progress=progress)
    variants = [f"aug{config.augment.stable_hash()}-{k}" for k in range(config.augment.copies)]
    if variants:
        transform = _AugmentTransform(config.augment, config.params.sample_rate)
        augmented, _ = extract([c.path for c in parts["train"]], cache, variants=variants, transform=transform,
                               seed=config.seed, workers=config.workers, progress=progress)
        features.update(augmented)
    skipped += [(str(p), reason) for p, reason in failed]
    # window clip numbers are positions in ``clips`` (Prepared.clips), whatever the part
    at = {k: [i for i, c in enumerate(clips) if split.part_of(c) == k] for k in parts}
    prior, norms = _speaker_norms(config, parts, at, features, variants)
    windows = {
        "train": build_windows(parts["train"], features, label_set, config.params, variants=["clean", *variants],
                               numbers=at["train"], norms=norms["train"]),
        # what the device hears: quantization is calibrated on these, not on augmented copies
        "train_clean": build_windows(parts["train"], features, label_set, config.params, numbers=at["train"],
                                     norms=norms["train"]),
        "validation": build_windows(parts["validation"], features, label_set, config.params, numbers=at["validation"],
                                    norms=norms["validation"]),
        "test": build_windows(parts["test"], features, label_set, config.params, numbers=at["test"],
                              norms=norms["test"]),
    }
    return Prepared(clips=clips, split=split, label_set=label_set, windows=windows, skipped=skipped, prior=prior)


def _speaker_norms(config: TrainConfig, parts: dict[str, list[Clip]], at: dict[str, list[int]], features,
                   variants: list[str]):
    """speaker_cmvn: (prior, {part: norms}) keyed by (clip number ``at[part][k]``, variant); training
    clips get random-budget statistics per variant, validation and test speakers all of their
    speech. Otherwise (None, {part: None})."""
    if config.params.normalisation != "speaker_cmvn":
        return None, {k: None for k in parts}
    params, train = config.params, parts["train"]
    prior = training_prior(train, voiced_by_clip(train, features), params)
    if prior is None:
        raise ConfigError("speaker_cmvn: the training clips have no voiced frames to build a prior from")
    budget = Budget(config.budget_min_s, config.budget_max_s, config.budget_draws)
    rng = np.random.default_rng(config.seed)
    norms: dict[str, Any] = {"train": {}}
    for variant in ["clean", *variants]:
        voiced = voiced_by_clip(train, features, variant)
        norms["train"].update(training_norms(train, range(len(train)), voiced, params, prior, budget, rng, variant))
    for part in ("validation", "test"):
        clips = parts[part]
        norms[part] = settled_norms(clips, range(len(clips)), voiced_by_clip(clips, features), params, prior)
    # computed by position in each part; windows number clips by position in Prepared.clips
    return prior, {part: {(at[part][k], variant): norm for (k, variant), norm in part_norms.items()}
                   for part, part_norms in norms.items()}


class _AugmentTransform:
    """Picklable (samples, rng) -> samples for the extraction workers."""

    def __init__(self, config: AugmentConfig, sample_rate: int):
        self.config, self.sample_rate = config, sample_rate

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return augment_audio(x, rng=rng, config=self.config, sample_rate=self.sample_rate)


def train_model(config: TrainConfig, data: Prepared, *, verbose: int = 2):
    """Fit the Conv1D with class balancing, SpecAugment and early stopping; returns (model, history)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(config.seed)
    tr, va = data.windows["train"], data.windows["validation"]
    n_classes = len(data.label_set.labels)
    model = build_model(config.params.window_frames, config.params.n_mfcc, n_classes, config.model)
    # one-hot targets throughout: mixup makes them soft
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing), metrics=["accuracy"])
    weights = window_weights(tr, data, n_classes, config.balance)
    mode = "max" if config.monitor == "val_uar" else "min"
    callbacks = [
        _ValidationUar(va, data),
        keras.callbacks.EarlyStopping(monitor=config.monitor, mode=mode, patience=config.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=config.monitor, mode=mode, factor=0.5, patience=max(2, config.patience // 3)),
    ]
    batches = _Batches(tr, n_classes, config, weights)
    history = model.fit(batches, epochs=config.epochs, validation_data=(va.x, np.eye(n_classes, dtype=np.float32)[va.y]),
                        callbacks=callbacks, verbose=verbose)
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}


class _ValidationUar:
    """Adds ``val_uar`` (clip-level, validation speakers) to the epoch logs, before early stopping reads them."""

    def __new__(cls, windows: WindowSet, data: Prepared):
        import keras

        class ValidationUar(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
                predict = lambda x: self.model.predict(x, batch_size=256, verbose=0)  # noqa: E731
                result = evaluate_windows(predict, windows, data.clips, data.label_set)
                if logs is not None and result is not None:
                    logs["val_uar"] = result["uar"]

        return ValidationUar()


class _Batches:
    """Shuffled training batches: SpecAugment masks, one-hot targets, loss weights, and with
    ``config.mixup`` > 0 each window blended with another of its batch (a keras PyDataset)."""

    def __new__(cls, *args, **kwargs):
        import keras

        class Batches(keras.utils.PyDataset):
            def __init__(self, windows: WindowSet, n_classes: int, config: TrainConfig, weights: np.ndarray):
                super().__init__()
                self.windows, self.config, self.weights = windows, config, weights
                self.onehot = np.eye(n_classes, dtype=np.float32)
                self.rng = np.random.default_rng(config.seed)
                self.order = self.rng.permutation(len(windows))

            def __len__(self) -> int:
                return max(1, len(self.windows) // self.config.batch_size)

            def __getitem__(self, i: int):
                size = self.config.batch_size
                pick = self.order[i * size: (i + 1) * size]
                x = spec_augment(self.windows.x[pick], rng=self.rng, config=self.config.augment)
                y, w = self.onehot[self.windows.y[pick]], self.weights[pick]
                return mix_batch(x, y, w, self.config.mixup, self.rng) if self.config.mixup else (x, y, w)

            def on_epoch_end(self) -> None:
                self.order = self.rng.permutation(len(self.windows))

        return Batches(*args, **kwargs)


def mix_batch(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float, rng: np.random.Generator):
    """Mixup: each window x (n, frames, coeffs), its one-hot y (n, classes) and weight w (n,)
    blended with those of a random partner, lam ~ Beta(alpha, alpha) folded to >= 0.5 so the
    window keeps most of itself. float32 throughout."""
    lam = rng.beta(alpha, alpha, size=len(x)).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)
    partner = rng.permutation(len(x))

    def mix(a: np.ndarray) -> np.ndarray:
        share = lam.reshape((-1,) + (1,) * (a.ndim - 1))
        return (share * a + (1 - share) * a[partner]).astype(np.float32)

    return mix(x), mix(y), mix(w)


def evaluate_windows(predict, windows: WindowSet, clips: list[Clip], label_set: LabelSet) -> Optional[dict]:
    """Clip-level report: window scores from ``predict`` (x -> scores) averaged per clip."""
    if len(windows) == 0:
        return None
    ids, scores = aggregate_clip_scores(predict(windows.x), windows.clip)
    truth = np.array([label_set.index_of(clips[i].emotion) for i in ids])
    return report(truth, scores.argmax(axis=1), label_set.labels)


def fit(config: TrainConfig, run_dir: Path, *, progress: bool = True, verbose: int = 2) -> dict:
    """Whole run: prepare, train, evaluate on the test speakers, write the run folder."""
    from ser_train.fit.run import save_run

    started = time.time()
    data = prepare(config, progress=progress)
    log.info("windows: %s", {k: len(v) for k, v in data.windows.items()})
    model, history = train_model(config, data, verbose=verbose)
    predict = lambda x: model.predict(x, batch_size=256, verbose=0)  # noqa: E731
    metrics = {
        "validation": evaluate_windows(predict, data.windows["validation"], data.clips, data.label_set),
        "test": evaluate_windows(predict, data.windows["test"], data.clips, data.label_set),
        "windows": {k: len(v) for k, v in data.windows.items() if k != "train_clean"},
        "train_seconds": round(time.time() - started, 1),
        "epochs_run": len(history.get("loss", [])),
    }
    save_run(run_dir, model=model, config=config, data=data, history=history, metrics=metrics)
    return metrics

"""`ser-train fit`: train the Keras Conv1D on prepared windows (`ser_train.fit.prepare`) and write
the run folder (`ser_train.fit.run`)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Optional

import numpy as np

from ser_edge.errors import ConfigError
from ser_train.config import TrainConfig
from ser_train.data.corpora import Clip
from ser_train.data.labels import LabelSet
from ser_train.features.augment import spec_augment
from ser_train.features.windows import WindowSet
from ser_train.fit.balance import window_weights
from ser_train.fit.extras import SCORES, Extras
from ser_train.fit.model import build_model
from ser_train.fit.prepare import Prepared, prepare
from ser_train.fit.run import save_run
from ser_train.fit.utterance import HEAD_FILE, FusionHead, head_report, run_head, save_fusion
from ser_train.metrics import aggregate_clip_scores, report

log = logging.getLogger(__name__)


def train_model(config: TrainConfig, data: Prepared, *, verbose: int = 2):
    """Fit the Conv1D with class balancing and SpecAugment, ended as ``config.ending`` says (early
    stopping on the validation speakers, or a fixed number of epochs); returns (model, history)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(config.seed)
    tr, va = data.windows["train"], data.windows["validation"]
    n_classes = len(data.label_set.labels)
    model = build_model(config.params.window_frames, tr.x.shape[-1], n_classes, config.model)  # n_mfcc (+ 3 prosodic)
    extras = Extras.of(config, data)  # an adversary, affect targets: outputs of training only
    if extras is not None and config.monitor == "val_loss":
        raise ConfigError("training setting monitor=val_loss does not go with an adversary or affect targets; use val_uar")
    # one-hot targets throughout: mixup makes them soft
    class_loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    trainer = model if extras is None else extras.trainer(model)
    if extras is None:
        trainer.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=class_loss, metrics=["accuracy"])
    else:
        losses, loss_weights = extras.losses(class_loss)
        trainer.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=losses, loss_weights=loss_weights,
                        metrics={SCORES: ["accuracy"]})
    weights = window_weights(tr, data, n_classes, config.balance)
    mode = "max" if config.monitor == "val_uar" else "min"
    callbacks = [_ValidationUar(va, data, model)]  # reported every epoch; with ending "best" it also decides
    if config.ending == "best":
        callbacks += [
            keras.callbacks.EarlyStopping(monitor=config.monitor, mode=mode, patience=config.patience,
                                          restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor=config.monitor, mode=mode, factor=0.5,
                                              patience=max(2, config.patience // 3)),
        ]
    elif config.ending == "average":
        callbacks.append(_WeightAverage(first_epoch=config.epochs // 2))
    batches = _Batches(tr, n_classes, config, weights, extras.targets(tr, data) if extras else {})
    validation = None if extras else (va.x, np.eye(n_classes, dtype=np.float32)[va.y])
    history = trainer.fit(batches, epochs=config.epochs, validation_data=validation, callbacks=callbacks, verbose=verbose)
    history = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if "scores_accuracy" in history:  # the trainer's name for the class accuracy (curves.png reads "accuracy")
        history["accuracy"] = history.pop("scores_accuracy")
    return model, history


class _ValidationUar:
    """Adds ``val_uar`` (clip-level, validation speakers, ``classifier``'s scores) to the epoch logs,
    before early stopping reads them."""

    def __new__(cls, windows: WindowSet, data: Prepared, classifier):
        import keras

        class ValidationUar(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
                predict = lambda x: classifier.predict(x, batch_size=256, verbose=0)  # noqa: E731
                result = evaluate_windows(predict, windows, data.clips, data.label_set)
                if logs is not None and result is not None:
                    logs["val_uar"] = result["uar"]

        return ValidationUar()


class _WeightAverage:
    """Stochastic weight averaging: at the end, every weight (batch-norm statistics included) is the
    mean of its values after each epoch from ``first_epoch`` (0-based) on."""

    def __new__(cls, first_epoch: int):
        import keras

        class WeightAverage(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.sums, self.count = None, 0

            def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
                if epoch < first_epoch:
                    return
                weights = [np.asarray(w, dtype=np.float64) for w in self.model.get_weights()]
                self.sums = weights if self.sums is None else [s + w for s, w in zip(self.sums, weights)]
                self.count += 1

            def on_train_end(self, logs: Optional[dict] = None) -> None:
                if self.count:
                    self.model.set_weights([(s / self.count).astype(np.float32) for s in self.sums])

        return WeightAverage()


class _Batches:
    """Shuffled training batches: SpecAugment masks, one-hot targets, loss weights, and with
    ``config.mixup`` > 0 each window blended with another of its batch (a keras PyDataset).
    With ``extra`` targets (`ser_train.fit.extras`, by output name, first axis = windows) targets
    and weights are dicts by output name, the class scores under "scores"."""

    def __new__(cls, *args, **kwargs):
        import keras

        class Batches(keras.utils.PyDataset):
            def __init__(self, windows: WindowSet, n_classes: int, config: TrainConfig, weights: np.ndarray,
                         extra: dict[str, np.ndarray]):
                super().__init__()
                self.windows, self.config, self.weights, self.extra = windows, config, weights, extra
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
                if self.extra:
                    y = {SCORES: y, **{name: targets[pick] for name, targets in self.extra.items()}}
                x, y, w = mix_batch(x, y, w, self.config.mixup, self.rng) if self.config.mixup else (x, y, w)
                return (x, y, {name: w for name in y}) if self.extra else (x, y, w)

            def on_epoch_end(self) -> None:
                self.order = self.rng.permutation(len(self.windows))

        return Batches(*args, **kwargs)


def mix_batch(x: np.ndarray, y, w: np.ndarray, alpha: float, rng: np.random.Generator):
    """Mixup: each window x (n, frames, coeffs), its one-hot y (n, classes; or a dict of such
    targets by output name) and weight w (n,) blended with those of a random partner, lam ~ Beta(alpha, alpha) folded to >= 0.5 so the
    window keeps most of itself. float32 throughout."""
    lam = rng.beta(alpha, alpha, size=len(x)).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)
    partner = rng.permutation(len(x))

    def mix(a: np.ndarray) -> np.ndarray:
        share = lam.reshape((-1,) + (1,) * (a.ndim - 1))
        return (share * a + (1 - share) * a[partner]).astype(np.float32)

    return mix(x), ({k: mix(v) for k, v in y.items()} if isinstance(y, dict) else mix(y)), mix(w)


def evaluate_windows(predict, windows: WindowSet, clips: list[Clip], label_set: LabelSet) -> Optional[dict]:
    """Clip-level report: window scores from ``predict`` (x -> scores) averaged per clip."""
    if len(windows) == 0:
        return None
    ids, scores = aggregate_clip_scores(predict(windows.x), windows.clip)
    truth = np.array([label_set.index_of(clips[i].emotion) for i in ids])
    return report(truth, scores.argmax(axis=1), label_set.labels)


def fit(config: TrainConfig, run_dir: Path, *, progress: bool = True, verbose: int = 2) -> dict:
    """Whole run of the network: prepare, train, evaluate on the test speakers, write the run folder.
    The baseline has its own: `ser_train.fit.functionals.fit_baseline` (`ser-train fit` picks by model kind)."""
    started = time.time()
    data = prepare(config, progress=progress)
    log.info("windows: %s", {k: len(v) for k, v in data.windows.items()})
    model, history = train_model(config, data, verbose=verbose)
    predict = lambda x: model.predict(x, batch_size=256, verbose=0)  # noqa: E731
    if config.model.head != "windows":  # the clips' decisions come from the utterance head
        head, embed, stats = run_head(config, model, data)
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        head.model.save(Path(run_dir) / HEAD_FILE)
        if isinstance(head, FusionHead):
            save_fusion(run_dir, head, stats, data)  # the device's head, for ser-convert
        evaluate = lambda part: head_report(head, embed, stats, data.windows[part], data)  # noqa: E731
    else:
        evaluate = lambda part: evaluate_windows(predict, data.windows[part], data.clips, data.label_set)  # noqa: E731
    metrics = {
        "validation": evaluate("validation"),
        "test": evaluate("test"),
        "windows": {k: len(v) for k, v in data.windows.items() if k != "train_clean"},
        "train_seconds": round(time.time() - started, 1),
        "epochs_run": len(history.get("loss", [])),
    }
    save_run(run_dir, model=model, config=config, data=data, history=history, metrics=metrics)
    return metrics

"""The training options that `ser-train fit` and `ser-train cv` share, and the TrainConfig they build.

An option added here (and read in `train_config`) applies to `fit` and to every fold of `cv`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import click

from ser_edge.frontend.params import FeatureParams

_OPTIONS = (
    click.option("--labels", "label_set", default="7class", show_default=True, help="Label set: 7class or 4class."),
    click.option("--exclude-speakers", default="", help="Speakers left out altogether, e.g. 01,02 (default: none)."),
    click.option("--epochs", default=60, show_default=True, help="Most epochs (early stopping ends sooner)."),
    click.option("--patience", default=10, show_default=True, help="Epochs without validation improvement before stopping."),
    click.option("--batch-size", default=64, show_default=True),
    click.option("--learning-rate", default=1e-3, show_default=True),
    click.option("--width", default=48, show_default=True, help="Filters in the first conv block."),
    click.option("--depth", default=3, show_default=True, help="Conv blocks."),
    click.option("--kernel", default=5, show_default=True, help="Conv kernel length, frames."),
    click.option("--dropout", default=0.3, show_default=True, help="Dropout before the dense layer."),
    click.option("--pooling", type=click.Choice(["mean", "mean+max"]), default="mean", show_default=True,
                 help="Pooling over time before the dense layer."),
    click.option("--balance", type=click.Choice(["class", "class+speaker", "class+speaker+corpus"]),
                 default="class+speaker", show_default=True,
                 help="What weighs the same in the loss: classes, speakers, corpora."),
    click.option("--label-smoothing", default=0.0, show_default=True, help="Share of each target spread over all classes."),
    click.option("--mixup", default=0.0, show_default=True, help="Mixup Beta alpha (0 = off)."),
    click.option("--copies", default=None, type=int, help="Augmented copies per training clip (default from the augment config)."),
    click.option("--no-augment", is_flag=True, help="Train on clean clips without SpecAugment masks."),
    click.option("--augment", "augment_file", type=click.Path(path_type=Path, exists=True),
                 help="JSON of augmentation settings to override (e.g. {\"pitch_p\": 0}); see train/features/augment.py."),
    click.option("--seed", default=0, show_default=True),
    click.option("--cache", "cache_dir", default=".cache/features", show_default=True, type=click.Path(path_type=Path)),
    click.option("--params", "params_file", type=click.Path(path_type=Path, exists=True),
                 help="JSON of feature parameters to override."),
    click.option("--norm", type=click.Choice(["window", "speaker"]), default=None,
                 help="Normalisation: window (per-window CMVN, the default) or speaker (adaptive; docs/ADAPTATION.md)."),
    click.option("--budget-min-s", default=3.0, show_default=True,
                 help="speaker: least speech a training speaker's statistics come from, s."),
    click.option("--budget-max-s", default=0.0, show_default=True, help="speaker: most speech, s (0 = all of it)."),
    click.option("--budget-draws", default=8, show_default=True, help="speaker: random budgets drawn per training speaker."),
)
NAMES = ("label_set", "exclude_speakers", "epochs", "patience", "batch_size", "learning_rate", "width", "depth", "kernel",
         "dropout", "pooling", "balance", "label_smoothing",
         "mixup", "copies", "no_augment", "augment_file", "seed", "cache_dir", "params_file", "norm", "budget_min_s",
         "budget_max_s", "budget_draws")


def fit_options(command: Callable) -> Callable:
    """Decorate a click command with every shared training option (`NAMES`)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def speakers(text: str) -> tuple[str, ...]:
    from ser_train.data.splits import speaker_ids

    return tuple(speaker_ids(text.split(","))) if text else ()


def train_config(data_dirs, options: dict[str, Any], **fixed: Any):
    """A TrainConfig from the shared options (a dict holding `NAMES`) plus ``fixed`` fields (speakers)."""
    from ser_train.features.augment import AugmentConfig
    from ser_train.fit.train import TrainConfig
    from ser_train.fit.model import ModelConfig

    o = options
    params = FeatureParams()
    if o["params_file"]:
        params = FeatureParams.from_dict({**params.to_dict(), **json.loads(o["params_file"].read_text())}, source=str(o["params_file"]))
    if o["norm"] is not None:
        params = params.replace(normalisation={"window": "window_cmvn", "speaker": "speaker_cmvn"}[o["norm"]])
    augment = AugmentConfig.off() if o["no_augment"] else AugmentConfig.default()
    if o["augment_file"]:
        augment = AugmentConfig.from_dict({**augment.to_dict(), **json.loads(o["augment_file"].read_text())}, source=str(o["augment_file"]))
    if o["copies"] is not None:
        augment = augment.replace(copies=o["copies"])
    return TrainConfig(
        data_dirs=tuple(str(d) for d in data_dirs), label_set=o["label_set"], exclude_speakers=speakers(o["exclude_speakers"]),
        epochs=o["epochs"], patience=o["patience"], batch_size=o["batch_size"], learning_rate=o["learning_rate"],
        seed=o["seed"], mixup=o["mixup"], balance=o["balance"], label_smoothing=o["label_smoothing"], cache_dir=str(o["cache_dir"]), params=params,
        budget_min_s=o["budget_min_s"], budget_max_s=o["budget_max_s"], budget_draws=o["budget_draws"],
        model=ModelConfig(width=o["width"], depth=o["depth"], kernel=o["kernel"], dropout=o["dropout"], pooling=o["pooling"]), augment=augment, **fixed,
    )

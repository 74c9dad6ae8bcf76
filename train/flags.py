"""The `ser-train fit` and `cv` flags, generated from the specs of `TrainConfig` and `ModelConfig`
(as `ser_edge.config.flags` makes the `listen` flags from the listener's settings).

A field's flag is ``--<name>`` (or its spec's ``flag``; ``flag=""`` = none); its help is the spec's
doc, its default the field's (shown in --help). Beside the
generated flags, a few build the sections: ``--params``/``--norm`` (FeatureParams),
``--no-augment``/``--augment``/``--copies`` (AugmentConfig).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from ser_edge.config.schema import Spec
from ser_edge.frontend.params import FeatureParams
from ser_train.config import ModelConfig, TrainConfig
from ser_train.data.splits import speaker_ids
from ser_train.features.augment import AugmentConfig

NORMS = {"window": "window_cmvn", "speaker": "speaker_cmvn"}
_SECTION_OPTIONS = (
    click.option("--copies", default=None, type=int, help="Augmented copies per training clip (default from the augment config)."),
    click.option("--no-augment", is_flag=True, help="Train on clean clips without SpecAugment masks."),
    click.option("--augment", "augment_file", type=click.Path(path_type=Path, exists=True),
                 help="JSON of augmentation settings to override (e.g. {\"pitch_p\": 0}); see train/features/augment.py."),
    click.option("--params", "params_file", type=click.Path(path_type=Path, exists=True),
                 help="JSON of feature parameters to override."),
    click.option("--norm", type=click.Choice(list(NORMS)), default=None,
                 help="Normalisation: window (per-window CMVN, the default) or speaker (adaptive; docs/ADAPTATION.md)."),
)


def _fields(cls: type) -> Iterator[tuple[str, Spec, Any]]:
    """(name, spec, default) of every field of ``cls`` that has a flag."""
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("spec")
        if spec is not None and spec.flag != "":
            yield f.name, spec, f.default


def _option(name: str, spec: Spec, default: Any) -> Callable:
    flag = spec.flag or "--" + name.replace("_", "-")
    types = {"int": int, "number": float, "str": str, "str_list": str,
             "choice": click.Choice(list(spec.choices))}
    if isinstance(default, tuple):  # a list flag is comma-separated
        default = ",".join(default)
    return click.option(flag, name, type=types[spec.kind], default=default, help=spec.doc,
                        show_default=default != "")


def fit_options(command: Callable) -> Callable:
    """Decorate a click command with every generated training flag and the section flags."""
    options = [_option(*f) for cls in (TrainConfig, ModelConfig) for f in _fields(cls)] + list(_SECTION_OPTIONS)
    for option in reversed(options):
        command = option(command)
    return command


def speakers(text: str) -> tuple[str, ...]:
    """'01,ravdess:02' -> ('ravdess:01', 'ravdess:02'); '' -> ()."""
    return tuple(speaker_ids(text.split(","))) if text else ()


def _given(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, spec, _ in _fields(cls):
        value = options.get(name)
        if value is not None:
            out[name] = speakers(value) if spec.kind == "str_list" else value
    return out


def train_config(data_dirs, options: dict[str, Any], **fixed: Any) -> TrainConfig:
    """A TrainConfig from the generated flags' values (a dict by field name),
    the section flags, and ``fixed`` fields (the speakers of `fit`)."""
    params = FeatureParams()
    if options.get("params_file"):
        path = options["params_file"]
        params = FeatureParams.from_dict({**params.to_dict(), **json.loads(path.read_text())}, source=str(path))
    if options.get("norm") is not None:
        params = params.replace(normalisation=NORMS[options["norm"]])
    augment = AugmentConfig.off() if options.get("no_augment") else AugmentConfig.default()
    if options.get("augment_file"):
        path = options["augment_file"]
        augment = AugmentConfig.from_dict({**augment.to_dict(), **json.loads(path.read_text())}, source=str(path))
    if options.get("copies") is not None:
        augment = augment.replace(copies=options["copies"])
    return TrainConfig(data_dirs=tuple(str(d) for d in data_dirs), params=params, augment=augment,
                       model=ModelConfig(**_given(ModelConfig, options)), **_given(TrainConfig, options), **fixed)

"""The one training configuration: `TrainConfig` (with its `ModelConfig`), declared once.

Each field is made with `ser_edge.config.schema.opt`, as the listener's settings are: its
kind, range, unit and one-line doc in a `Spec`, checked when the object is made (one message
shape: ``training setting <name>=<value> is invalid; allowed: ...``). The `ser-train` flags are
generated from the same specs (`ser_train.flags`), so a default, its flag and its check cannot
drift apart. A run folder keeps the config as JSON (`TrainConfig.to_dict` / `from_dict`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ser_edge.config.schema import Checked, opt
from ser_edge.errors import ConfigError
from ser_edge.frontend.params import FeatureParams
from ser_train.data.labels import label_set_names
from ser_train.features.augment import AugmentConfig

#: what weighs the same in the loss (`ser_train.fit.balance`)
BALANCES = ("class", "class+speaker", "class+speaker+corpus")
POOLINGS = ("mean", "mean+max")
#: conv1d: the device's network; functionals: the reference baseline (`ser_train.fit.functionals`)
MODEL_KINDS = ("conv1d", "functionals")
#: how a clip is decided: the mean of its windows' scores, or an utterance head (`ser_train.fit.utterance`)
HEADS = ("windows", "utterance", "utterance+stats", "fusion")
MONITORS = ("val_uar", "val_loss")
#: what a window holds per 10 ms frame: the normalised MFCC, or with three prosodic channels (`ser_train.features.windows`)
CHANNELS = ("mfcc", "prosody")
#: how training ends: best = early stopping on the validation speakers, their best epoch's weights
#: restored; fixed = exactly ``epochs`` epochs at a constant rate, the last weights kept; average =
#: as fixed, the weights averaged over the second half of the epochs (stochastic weight averaging)
ENDINGS = ("best", "fixed", "average")
#: what an adversary learns to tell apart from the embedding, through gradient reversal (`ser_train.fit.extras`)
ADVERSARIES = ("none", "corpus", "speaker")
#: training fields written to a run's config only when not at these values, so older configs and cv recipes keep their dict
_QUIET_DEFAULTS = {"ending": "best", "adversary": "none", "adversary_weight": 0.3, "affect_weight": 0.0}


@dataclass(frozen=True, kw_only=True)
class ModelConfig(Checked):
    """Width and depth of the Conv1D (`ser_train.fit.model`); ``width`` filters in the first
    block, x1.5 per block."""

    WHAT = "model setting"

    kind: str = opt("conv1d", "Model: conv1d (the device's network) or functionals (the reference baseline: "
                    "per-clip statistics and a logistic regression; training only).", "choice", choices=MODEL_KINDS,
                    flag="--model")
    head: str = opt("windows", "How a clip is decided: windows (the mean of its windows' scores), utterance (a "
                    "head on the mean and sd of its windows' embeddings), utterance+stats (and its statistics), fusion (the "
                    "windows' mean log-scores plus a regression on the clip's statistics).",
                    "choice", choices=HEADS)
    fusion_weight: float = opt(0.25, "fusion: weight of the network's mean log-scores beside the regression's "
                               "log-probabilities (0 = the regression alone; 0.25 chosen by leave-one-corpus-out cv, "
                               "benchmarks/RESULTS.md section 10).", low=0.0, high=10.0)
    width: int = opt(48, "Filters in the first conv block.", "int", low=4, high=512)
    depth: int = opt(3, "Conv blocks.", "int", low=1, high=6)
    kernel: int = opt(5, "Conv kernel length, frames.", "int", low=1, high=15)
    dropout: float = opt(0.3, "Dropout before the dense layer.", low=0.0, high=0.99)
    l2: float = opt(1e-4, "L2 weight decay of conv and dense kernels.", low=0.0, high=1.0, flag="")
    pooling: str = opt("mean", "Pooling over time before the dense layer.", "choice", choices=POOLINGS)
    channels: str = opt("mfcc", "What a window holds per frame: mfcc (the normalised MFCC), or prosody (and log F0 "
                        "minus the speaker's mean, voicing, log energy minus the clip's speech mean; needs prosody "
                        "in the feature parameters; training only: the device does not feed them yet).", "choice",
                        choices=CHANNELS)

    def to_dict(self) -> dict[str, Any]:
        """Every field; ``kind``, ``head`` and ``channels`` only when not at their first values (conv1d,
        windows, mfcc), so configs from before they existed keep their dict."""
        data = dataclasses.asdict(self)
        for name, first in (("kind", "conv1d"), ("head", "windows"), ("channels", "mfcc")):
            if data[name] == first:
                del data[name]
        if self.head != "fusion":
            del data["fusion_weight"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "ModelConfig":
        return _build(cls, data, source)

    def block_widths(self) -> list[int]:
        """Filters per conv block, multiples of 8."""
        return [int(round(self.width * 1.5**i / 8)) * 8 or 8 for i in range(self.depth)]


@dataclass(frozen=True, kw_only=True)
class TrainConfig(Checked):
    """Everything a run depends on; written to the run folder as config.json."""

    WHAT = "training setting"

    data_dirs: tuple[str, ...]
    label_set: str = opt("7class", "Label set.", "choice", choices=label_set_names(), flag="--labels")
    test_speakers: tuple[str, ...] = opt((), "Held-out speakers.", "str_list", flag="")
    validation_speakers: tuple[str, ...] = opt(("ravdess:15", "ravdess:16"), "Speakers for early stopping.",
                                               "str_list", flag="")
    exclude_speakers: tuple[str, ...] = opt((), "Speakers left out altogether, e.g. 01,02 (default: none).", "str_list")
    epochs: int = opt(60, "Most epochs (early stopping ends sooner).", "int", low=1, high=10000)
    batch_size: int = opt(64, "Windows per batch.", "int", low=1, high=65536)
    learning_rate: float = opt(1e-3, "Adam's learning rate, halved when the monitored figure stalls.",
                               low=1e-7, high=1.0)
    patience: int = opt(10, "Epochs without validation improvement before stopping.", "int", low=1, high=10000)
    seed: int = opt(0, "Seed of every random choice (split of budgets, augmentation, weights, batches).", "int", low=0)
    balance: str = opt("class+speaker", "What weighs the same in the loss: classes, speakers, corpora.", "choice",
                       choices=BALANCES)
    label_smoothing: float = opt(0.0, "Share of each target spread over all classes.", low=0.0, high=0.49)
    mixup: float = opt(0.0, "Mixup Beta alpha (0 = off).", low=0.0, high=10.0)
    ending: str = opt("best", "How training ends: best (early stopping on the validation speakers, their best "
                      "epoch restored), fixed (exactly --epochs epochs, the last weights kept) or average (as "
                      "fixed, the weights averaged over the second half of the epochs).", "choice",
                      choices=ENDINGS)
    adversary: str = opt("none", "An adversary that learns to tell the corpus (or training speaker) from the "
                         "embedding while a reversed gradient teaches the network to hide it (training only).",
                         "choice", choices=ADVERSARIES)
    adversary_weight: float = opt(0.3, "Scale of the adversary's reversed gradient in the network.", low=0.0, high=10.0)
    affect_weight: float = opt(0.0, "Weight of an extra loss: each window's (valence, arousal) point regressed from "
                               "the embedding (0 = off; training only).", low=0.0, high=10.0)
    monitor: str = opt("val_uar", "Early stopping on validation clip-level UAR, or val_loss.", "choice",
                       choices=MONITORS, flag="")
    workers: int = opt(0, "Feature extraction processes; 0 = all cores.", "int", low=0, high=256, flag="")
    cache_dir: str = opt(".cache/features", "Feature cache folder.", "str", flag="--cache")
    # speaker_cmvn: each training speaker's statistics from random budgets of their speech (ser_train.features.speakers)
    budget_min_s: float = opt(3.0, "speaker: least speech a training speaker's statistics come from, s.",
                              low=0.01, unit="s")
    budget_max_s: float = opt(0.0, "speaker: most speech, s (0 = all of it).", low=0.0, unit="s")
    budget_draws: int = opt(8, "speaker: random budgets drawn per training speaker.", "int", low=1, high=1000)
    params: FeatureParams = field(default_factory=FeatureParams)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig.default)

    def __post_init__(self) -> None:
        for name in ("data_dirs", "test_speakers", "validation_speakers", "exclude_speakers"):
            if isinstance(getattr(self, name), list):  # JSON gives lists; tuples compare and hash
                object.__setattr__(self, name, tuple(getattr(self, name)))
        super().__post_init__()
        if self.adversary == "none" and self.adversary_weight != _QUIET_DEFAULTS["adversary_weight"]:
            raise ConfigError("training setting adversary_weight needs an adversary (--adversary corpus or speaker)")
        if self.model.channels == "prosody" and (self.model.kind != "conv1d" or not self.params.prosody):
            raise ConfigError("training setting channels=prosody needs the conv1d model and prosody in the feature "
                              'parameters (--params with "prosody": true)')

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.update(params=self.params.to_dict(), model=self.model.to_dict(), augment=self.augment.to_dict())
        for name, quiet in _QUIET_DEFAULTS.items():
            if data[name] == quiet:
                del data[name]
        data.update(data_dirs=list(self.data_dirs), test_speakers=list(self.test_speakers),
                    validation_speakers=list(self.validation_speakers), exclude_speakers=list(self.exclude_speakers))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "TrainConfig":
        """Inverse of `to_dict` (a run's config.json); unknown keys are a ConfigError."""
        data = dict(data)
        if "params" in data:
            data["params"] = FeatureParams.from_dict(data["params"], source=source)
        if "model" in data:
            data["model"] = ModelConfig.from_dict(data["model"], source=source)
        if "augment" in data:
            data["augment"] = AugmentConfig.from_dict(data["augment"], source=source)
        return _build(cls, data, source)


def _build(cls: type, data: dict[str, Any], source: str) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown {cls.WHAT}(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    return cls(**data)

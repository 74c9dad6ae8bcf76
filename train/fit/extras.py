"""Extra training outputs that shape the Conv1D's embedding and are dropped before it is saved.

Two levers of issue 23, each off by default and switched on by a `TrainConfig` field:

- an **adversary** (``adversary`` = corpus or speaker): a small dense classifier reads the pooled
  embedding (``time_pool``) through a gradient reversal layer and learns to tell which corpus (or
  training speaker) a window comes from, while the reversed gradient, scaled by
  ``adversary_weight``, pushes the convolutions to make them indistinguishable (Ganin & Lempitsky
  2015, domain-adversarial training);
- **affect targets** (``affect_weight`` > 0): a linear output regresses each window's label onto
  its (valence, arousal) point of the circumplex (`ser_edge.model.circumplex.DEFAULT_PLACEMENT`,
  each in [-1, 1]), mean squared error weighted by ``affect_weight`` beside the class loss.

The saved network (`ser_train.fit.run.save_run`) is the classifier alone: the device never sees
either output, so neither costs anything there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ser_edge.errors import ConfigError
from ser_edge.model.circumplex import DEFAULT_PLACEMENT
from ser_train.config import TrainConfig
from ser_train.features.windows import WindowSet
from ser_train.fit.prepare import Prepared

#: names of the trainer's outputs (keys of its targets, losses and sample weights)
SCORES, ADVERSARY, AFFECT = "scores", "adversary", "affect"


@dataclass(frozen=True)
class Extras:
    """What the extra outputs need: the group names the adversary tells apart (corpora or training
    speakers, sorted; empty without one) and the (valence, arousal) point of each label."""

    config: TrainConfig
    groups: tuple[str, ...]
    points: Optional[np.ndarray]  # (classes, 2) float32, or None without affect targets

    @classmethod
    def of(cls, config: TrainConfig, data: Prepared) -> Optional["Extras"]:
        """The extras ``config`` asks for, or None when it asks for none."""
        if config.adversary == "none" and config.affect_weight == 0:
            return None
        groups: tuple[str, ...] = ()
        if config.adversary != "none":
            train = {int(k) for k in np.unique(data.windows["train"].clip)}
            groups = tuple(sorted({_group(config, data.clips[k]) for k in train}))
            if len(groups) < 2:
                raise ConfigError(f"training setting adversary={config.adversary} needs at least two "
                                  f"{config.adversary} groups among the training clips; found {len(groups)}")
        points = None
        if config.affect_weight > 0:
            missing = [x for x in data.label_set.labels if x not in DEFAULT_PLACEMENT]
            if missing:
                raise ConfigError(f"training setting affect_weight needs a circumplex point for every label; "
                                  f"{', '.join(missing)} has none")
            points = np.array([DEFAULT_PLACEMENT[x] for x in data.label_set.labels], dtype=np.float32)
        return cls(config=config, groups=groups, points=points)

    def targets(self, windows: WindowSet, data: Prepared) -> dict[str, np.ndarray]:
        """Per-window targets of the extra outputs: adversary one-hot (n, groups) float32, affect
        (n, 2) float32 (valence, arousal)."""
        out = {}
        if self.groups:
            index = {g: i for i, g in enumerate(self.groups)}
            group_of_clip = {int(k): index[_group(self.config, data.clips[int(k)])] for k in np.unique(windows.clip)}
            ids = np.array([group_of_clip[int(k)] for k in windows.clip], dtype=np.int64)
            out[ADVERSARY] = np.eye(len(self.groups), dtype=np.float32)[ids]
        if self.points is not None:
            out[AFFECT] = self.points[windows.y]
        return out

    def trainer(self, classifier):
        """A Keras model sharing ``classifier``'s layers with outputs {scores, adversary?, affect?}."""
        import keras
        from keras import layers

        embedding = classifier.get_layer("time_pool").output
        outputs = {SCORES: classifier.output}
        if self.groups:
            hidden = _GradientReversal(self.config.adversary_weight, name="reverse")(embedding)
            hidden = layers.Dense(64, activation="relu", name="adversary_hidden")(hidden)
            outputs[ADVERSARY] = layers.Dense(len(self.groups), activation="softmax", name=ADVERSARY)(hidden)
        if self.points is not None:
            outputs[AFFECT] = layers.Dense(2, name=AFFECT)(classifier.get_layer("dropout").output)
        return keras.Model(classifier.input, outputs, name="ser_conv1d_trainer")

    def losses(self, class_loss) -> tuple[dict, dict]:
        """(losses, loss weights) by output name, the class loss weighing 1."""
        import keras

        losses, weights = {SCORES: class_loss}, {SCORES: 1.0}
        if self.groups:
            losses[ADVERSARY], weights[ADVERSARY] = keras.losses.CategoricalCrossentropy(), 1.0
        if self.points is not None:
            losses[AFFECT], weights[AFFECT] = keras.losses.MeanSquaredError(), self.config.affect_weight
        return losses, weights


def _group(config: TrainConfig, clip) -> str:
    return clip.corpus if config.adversary == "corpus" else clip.speaker


def _GradientReversal(scale: float, *, name: str):
    """Identity forward; the gradient multiplied by -``scale`` backward. Built from stop_gradient
    alone (y = sg((1 + s) x) - s x), so it needs no backend's custom-gradient API."""
    import keras

    class GradientReversal(keras.layers.Layer):
        def call(self, x):
            return keras.ops.stop_gradient((1.0 + scale) * x) - scale * x

    return GradientReversal(name=name)

"""Training-only outputs (`ser_train.fit.extras`): the adversary through gradient reversal and the
affect targets shape training, and the saved network is the classifier alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_train.config import ModelConfig, TrainConfig
from ser_train.features.augment import AugmentConfig
from tests.conftest import _tiny_fit

tf = pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")


@pytest.fixture(scope="module")
def extras_run(tiny_data, tmp_path_factory):
    """A tiny run with a speaker adversary, affect targets and mixup (targets as dicts, blended)."""
    return _tiny_fit(tiny_data, tmp_path_factory.mktemp("extras"), model=ModelConfig(width=8, depth=2),
                     augment=AugmentConfig.off(), adversary="speaker", adversary_weight=0.5, affect_weight=0.5,
                     mixup=0.2)


def test_the_saved_network_is_the_classifier_alone(extras_run):
    import keras

    model = keras.models.load_model(extras_run / "model.keras", compile=False)
    names = {layer.name for layer in model.layers}
    assert not names & {"reverse", "adversary_hidden", "adversary", "affect"}
    assert model.output.shape[-1] == 7


def test_the_extra_losses_are_trained_and_recorded(extras_run):
    history = json.loads((extras_run / "history.json").read_text())
    assert {"adversary_loss", "affect_loss", "scores_loss", "accuracy", "val_uar"} <= set(history)
    # two training speakers: the adversary's cross-entropy starts near ln 2, the affect loss is a finite MSE
    assert 0.2 < history["adversary_loss"][0] < 2.0
    assert all(np.isfinite(history["affect_loss"]))
    config = TrainConfig.from_dict(json.loads((extras_run / "config.json").read_text()))
    assert (config.adversary, config.adversary_weight, config.affect_weight) == ("speaker", 0.5, 0.5)


def test_gradient_reversal_is_identity_forward_and_negates_backward():
    from ser_train.fit.extras import _GradientReversal

    layer = _GradientReversal(0.3, name="r")
    x = tf.constant([[1.0, -2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * tf.constant([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [[-0.3, -0.6, -0.9]], rtol=1e-5)


def test_defaults_stay_out_of_the_config_dict():
    data = TrainConfig(data_dirs=("x",)).to_dict()
    assert not {"adversary", "adversary_weight", "affect_weight"} & set(data)
    data = TrainConfig(data_dirs=("x",), adversary="corpus").to_dict()
    assert data["adversary"] == "corpus" and "adversary_weight" not in data


def test_a_weight_without_an_adversary_is_refused():
    with pytest.raises(ConfigError, match="adversary_weight needs an adversary"):
        TrainConfig(data_dirs=("x",), adversary_weight=1.0)
    with pytest.raises(ConfigError, match="adversary"):
        TrainConfig(data_dirs=("x",), adversary="room")


def test_a_corpus_adversary_needs_two_corpora(tiny_data, tmp_path):
    with pytest.raises(ConfigError, match="adversary=corpus needs at least two corpus groups"):
        _tiny_fit(tiny_data, tmp_path, model=ModelConfig(width=8, depth=2), augment=AugmentConfig.off(),
                  adversary="corpus")


def test_affect_targets_are_the_labels_circumplex_points():
    from ser_train.features.windows import WindowSet
    from ser_train.fit.extras import AFFECT, Extras

    points = np.array([[0.0, 0.0], [0.8, 0.5]], dtype=np.float32)
    extras = Extras(config=TrainConfig(data_dirs=("x",), affect_weight=1.0), groups=(), points=points)
    windows = WindowSet(x=np.zeros((3, 4, 2), np.float32), y=np.array([1, 0, 1]), clip=np.array([0, 1, 2]))
    np.testing.assert_array_equal(extras.targets(windows, data=None)[AFFECT], points[[1, 0, 1]])

"""The label groups the cv figures use: the 4-class subset and the high-arousal side."""

from __future__ import annotations

import numpy as np
import pytest

from ser_edge.model.circumplex import DEFAULT_PLACEMENT
from ser_train.data.labels import get_label_set
from ser_train.metrics import FOUR_CLASSES, HIGH_AROUSAL, arousal_balanced_accuracy


def test_the_four_classes_are_the_4class_label_set_in_its_order():
    assert FOUR_CLASSES == ("neutral", "happy", "sad", "angry") == get_label_set("4class").labels


def test_high_arousal_is_the_circumplex_side_above_zero():
    # Schuller et al. (2009): high angry, happy, fearful, surprised; low neutral, sad, disgust
    assert set(HIGH_AROUSAL) == {"angry", "happy", "fearful", "surprised"}
    assert set(HIGH_AROUSAL) == {label for label, (_, arousal) in DEFAULT_PLACEMENT.items() if arousal > 0}


@pytest.mark.parametrize("label, high", [("angry", True), ("happy", True), ("fearful", True), ("surprised", True),
                                         ("neutral", False), ("sad", False), ("disgust", False), ("calm", False)])
def test_each_label_falls_on_its_arousal_side(label, high):
    labels = [label, "neutral" if high else "angry"]  # the other label on the other side
    truth, predicted = np.array([0, 1]), np.array([0, 0])  # the second clip is called the first's label
    # right side for the first clip (recall 1), wrong side for the second (recall 0): 0.5 either way,
    # unless both labels were on one side (then 1.0)
    assert arousal_balanced_accuracy(truth, predicted, labels) == pytest.approx(0.5)

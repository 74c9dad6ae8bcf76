"""Label sets: the 7- and 4-class sets, their mappings and their errors."""

from __future__ import annotations

import pytest

from ser_edge.errors import ConfigError
from ser_train.data.labels import DEFAULT_LABEL_SET, EMOTIONS, LabelSet, get_label_set, label_set_names

SEVEN = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def test_default_is_7class_in_output_order():
    assert DEFAULT_LABEL_SET == "7class"
    assert get_label_set().labels == SEVEN
    assert get_label_set() is get_label_set("7class")
    assert set(label_set_names()) == {"7class", "4class"}


def test_7class_folds_calm_into_neutral_and_leaves_out_boredom():
    seven = get_label_set("7class")
    assert seven.label_of("calm") == "neutral"
    assert seven.index_of("calm") == seven.index_of("neutral") == 0
    # TESS "ps" is parsed as canonical "surprised", the last output.
    assert seven.index_of("surprised") == 6
    assert [seven.index_of(e) for e in SEVEN] == list(range(7))
    assert seven.index_of("boredom") is None
    assert seven.excluded() == ("boredom",)


def test_4class_keeps_four_and_excludes_the_rest():
    four = get_label_set("4class")
    assert four.labels == ("neutral", "happy", "sad", "angry")
    assert four.index_of("calm") == 0
    assert [four.index_of(e) for e in ("neutral", "happy", "sad", "angry")] == [0, 1, 2, 3]
    assert four.excluded() == ("fearful", "disgust", "surprised", "boredom")
    for emotion in four.excluded():
        assert four.index_of(emotion) is None


def test_every_set_maps_every_canonical_emotion():
    for name in label_set_names():
        label_set = get_label_set(name)
        assert set(label_set.mapping) == set(EMOTIONS)
        assert {label_set.label_of(e) for e in EMOTIONS} - {None} == set(label_set.labels)


@pytest.mark.parametrize("name", ["8class", "7-class", "", None, ["7class"]])
def test_unknown_set_names_the_value_and_the_allowed_names(name):
    with pytest.raises(ConfigError) as err:
        get_label_set(name)
    message = str(err.value)
    assert repr(name) in message and "7class" in message and "4class" in message
    assert err.value.exit_code == 78


def test_unknown_emotion_is_an_error_not_outside_the_set():
    with pytest.raises(ConfigError, match="'pleasant surprise'.*canonical emotions are: neutral, calm"):
        get_label_set().index_of("pleasant surprise")


def test_label_sets_are_frozen_and_hashable():
    seven = get_label_set()
    with pytest.raises(AttributeError):
        seven.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        seven.mapping["boredom"] = "neutral"  # type: ignore[index]
    assert len({seven, get_label_set("4class")}) == 2


def _mapping(**changes):
    mapping = {e: None for e in EMOTIONS}
    mapping.update(neutral="neutral", happy="happy")
    mapping.update(changes)
    return mapping


def test_a_custom_set_is_checked_when_made():
    two = LabelSet("2class", ("neutral", "happy"), _mapping(calm="neutral"))
    assert two.index_of("calm") == 0 and two.index_of("sad") is None
    incomplete = _mapping()
    del incomplete["boredom"]
    cases = [
        (("neutral", "happy"), incomplete, "missing \\['boredom'\\]"),
        (("neutral", "happy"), {**_mapping(), "pleasant": None}, "unknown \\['pleasant'\\]"),
        (("neutral", "happy"), _mapping(sad="sadness"), "targets \\['sadness'\\] are not labels"),
        (("neutral", "happy", "sad"), _mapping(), "labels \\['sad'\\] are never produced"),
        (("neutral", "neutral"), _mapping(), "unique"),
        ((), _mapping(), "non-empty"),
    ]
    for labels, mapping, message in cases:
        with pytest.raises(ConfigError, match=message):
            LabelSet("bad", labels, mapping)

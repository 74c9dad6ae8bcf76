"""Arousal and valence: the label placement (manifest field or built-in default), its checks at
bundle load, and the weighted sum that turns class scores into a point in [-1, 1]^2."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ser_edge.errors import BundleError
from ser_edge.model.bundle import load_bundle, manifest_digest
from ser_edge.model.circumplex import DEFAULT_PLACEMENT, affect, default_circumplex, read_circumplex
from ser_edge.model.shipped import default_bundle_path

SEVEN = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")
FOUR = ("neutral", "happy", "sad", "angry")
#: Schuller et al. (2009)'s arousal grouping, as the binary arousal metric counts it
HIGH_AROUSAL = {"angry", "happy", "fearful", "surprised"}


def test_default_placement_is_the_documented_one() -> None:
    assert dict(DEFAULT_PLACEMENT) == {
        "neutral": (0.0, 0.0), "happy": (0.8, 0.5), "sad": (-0.7, -0.5), "angry": (-0.6, 0.8),
        "fearful": (-0.7, 0.7), "disgust": (-0.7, -0.2), "surprised": (0.3, 0.8)}


def test_default_arousal_sides_match_the_binary_arousal_grouping() -> None:
    for label, (_, arousal) in DEFAULT_PLACEMENT.items():
        assert (arousal > 0) == (label in HIGH_AROUSAL), label
    for label, (valence, _) in DEFAULT_PLACEMENT.items():  # only happy and surprised are pleasant
        assert (valence > 0) == (label in {"happy", "surprised"}), label


def test_default_field_covers_both_shipped_label_sets_and_nothing_unknown() -> None:
    assert list(default_circumplex(list(SEVEN))) == list(SEVEN)
    assert default_circumplex(list(FOUR)) == {k: list(DEFAULT_PLACEMENT[k]) for k in FOUR}
    assert default_circumplex(["neutral", "calm"]) is None  # calm has no default place
    assert default_circumplex([]) is None


def test_without_the_field_the_default_is_taken_by_label_name() -> None:
    assert read_circumplex("b", {}, FOUR) == {k: DEFAULT_PLACEMENT[k] for k in FOUR}
    assert read_circumplex("b", {}, ("neutral", "boredom")) is None


def test_the_manifest_field_wins_over_the_default() -> None:
    placed = read_circumplex("b", {"circumplex": {"neutral": [0, 0], "happy": [1, -1]}}, ("neutral", "happy"))
    assert placed == {"neutral": (0.0, 0.0), "happy": (1.0, -1.0)}
    assert read_circumplex("b", {"circumplex": {"calm": [0.4, -0.6]}}, ("calm",)) == {"calm": (0.4, -0.6)}


@pytest.mark.parametrize("field, message", [
    ({"neutral": [0, 0]}, r"must place every label and only those; missing happy"),
    ({"neutral": [0, 0], "happy": [0.8, 0.5], "calm": [0, 0]}, r"not labels: calm"),
    ({"neutral": [0, 0], "happy": [1.2, 0.5]}, r"circumplex.happy must be \[valence, arousal\].*-1..1, got \[1.2, 0.5\]"),
    ({"neutral": [0, -1.01], "happy": [0.8, 0.5]}, r"circumplex.neutral .* got \[0, -1.01\]"),
    ({"neutral": [0, 0], "happy": [0.8]}, r"circumplex.happy"),
    ({"neutral": [0, 0], "happy": [0.8, 0.5, 0.1]}, r"circumplex.happy"),
    ({"neutral": [0, 0], "happy": ["0.8", 0.5]}, r"circumplex.happy"),
    ({"neutral": [0, 0], "happy": [True, 0.5]}, r"circumplex.happy"),
    ({"neutral": [0, 0], "happy": [math.nan, 0.5]}, r"circumplex.happy"),
    ({"neutral": [0, 0], "happy": {"valence": 0.8, "arousal": 0.5}}, r"circumplex.happy"),
    ([[0, 0], [0.8, 0.5]], r"circumplex must be an object"),
])
def test_a_bad_field_is_refused_naming_the_bundle_and_label(field, message) -> None:
    with pytest.raises(BundleError, match=message) as err:
        read_circumplex("/opt/bundle", {"circumplex": field}, ("neutral", "happy"))
    assert str(err.value).startswith("/opt/bundle: manifest circumplex")


def relabel_without_placement(manifest: dict) -> None:
    """The last label becomes calm (no default place); no circumplex field, no tuned thresholds."""
    manifest.update(labels=[*manifest["labels"][:-1], "calm"])
    manifest.pop("circumplex", None)
    manifest.pop("thresholds", None)


def copy_default(tmp_path: Path, change) -> Path:
    copy = Path(shutil.copytree(default_bundle_path(), tmp_path / "bundle"))
    manifest = json.loads((copy / "manifest.json").read_text())
    change(manifest)
    manifest["manifest_sha256"] = manifest_digest(manifest)  # consistent, so the circumplex check is reached
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_a_bundle_made_before_the_field_gains_the_default_placement() -> None:
    from tests.edge.golden.make_shipped_scores import OLD_BUNDLE

    bundle = load_bundle(OLD_BUNDLE)
    assert "circumplex" not in bundle.manifest  # made before the field existed
    assert bundle.circumplex == {k: DEFAULT_PLACEMENT[k] for k in bundle.labels}


def test_the_shipped_bundles_write_the_default_placement_in_their_manifests() -> None:
    from ser_edge.model.shipped import shipped_bundles

    for path in shipped_bundles().values():
        bundle = load_bundle(path)
        assert bundle.manifest["circumplex"] == {k: list(DEFAULT_PLACEMENT[k]) for k in bundle.labels}


def test_load_bundle_refuses_a_placement_missing_a_label(tmp_path: Path) -> None:
    copy = copy_default(tmp_path, lambda m: m.update(circumplex={k: [0, 0] for k in m["labels"][:-1]}))
    with pytest.raises(BundleError, match=f"{copy}: manifest circumplex must place every label .*missing surprised"):
        load_bundle(copy)


def test_load_bundle_refuses_a_value_out_of_range(tmp_path: Path) -> None:
    copy = copy_default(tmp_path, lambda m: m.update(circumplex={**{k: [0, 0] for k in m["labels"]}, "sad": [-0.7, -1.5]}))
    with pytest.raises(BundleError, match=r"circumplex.sad must be .* got \[-0.7, -1.5\]"):
        load_bundle(copy)


def test_a_bundle_with_its_own_placement_loads_it(tmp_path: Path) -> None:
    own = {k: [0.1 * i, -0.1 * i] for i, k in enumerate(SEVEN)}
    bundle = load_bundle(copy_default(tmp_path, lambda m: m.update(circumplex=own)))
    assert bundle.circumplex == {k: (v[0], v[1]) for k, v in own.items()}


def test_a_bundle_with_labels_outside_the_default_and_no_field_has_none(tmp_path: Path) -> None:
    bundle = load_bundle(copy_default(tmp_path, relabel_without_placement))
    assert bundle.circumplex is None


def test_affect_of_one_label_is_its_placement() -> None:
    for label, (valence, arousal) in DEFAULT_PLACEMENT.items():
        scores = {k: float(k == label) for k in SEVEN}
        assert affect(scores, DEFAULT_PLACEMENT) == {"arousal": arousal, "valence": valence}


def test_affect_is_the_score_weighted_sum() -> None:
    scores = {"neutral": 0.1, "happy": 0.5, "sad": 0.0, "angry": 0.3, "fearful": 0.1, "disgust": 0.0, "surprised": 0.0}
    # valence 0.5 * 0.8 + 0.3 * -0.6 + 0.1 * -0.7 = 0.15; arousal 0.5 * 0.5 + 0.3 * 0.8 + 0.1 * 0.7 = 0.56
    assert affect(scores, DEFAULT_PLACEMENT) == {"arousal": 0.56, "valence": 0.15}


def test_affect_divides_by_the_score_sum_and_rounds() -> None:
    half = {"happy": 0.25, "sad": 0.25}  # sums to 0.5: the same point as 0.5 / 0.5
    assert affect(half, DEFAULT_PLACEMENT) == affect({"happy": 0.5, "sad": 0.5}, DEFAULT_PLACEMENT) == \
        {"arousal": 0.0, "valence": 0.05}
    third = affect({"happy": 1, "sad": 1, "angry": 1}, DEFAULT_PLACEMENT)
    assert third == {"arousal": round(0.8 / 3, 3), "valence": round(-0.5 / 3, 3)}


def test_affect_is_unknown_without_a_placement_or_without_scores() -> None:
    assert affect({"happy": 1.0}, None) == {"arousal": None, "valence": None}
    assert affect({"happy": 0.0, "sad": 0.0}, DEFAULT_PLACEMENT) == {"arousal": None, "valence": None}


def test_affect_never_gives_negative_zero() -> None:
    result = affect({"neutral": 0.9999, "sad": 0.0001}, DEFAULT_PLACEMENT)
    assert json.dumps(result) == '{"arousal": 0.0, "valence": 0.0}'


@given(st.lists(st.floats(0, 1), min_size=7, max_size=7).filter(lambda p: sum(p) > 1e-6))
def test_affect_stays_within_the_unit_square(p: list) -> None:
    result = affect(dict(zip(SEVEN, p)), DEFAULT_PLACEMENT)
    assert -1.0 <= result["arousal"] <= 1.0 and -1.0 <= result["valence"] <= 1.0
    lows = [DEFAULT_PLACEMENT[k][1] for k, x in zip(SEVEN, p) if x > 0]
    assert result["arousal"] >= min(lows) - 1e-3  # inside the hull of the labels that scored

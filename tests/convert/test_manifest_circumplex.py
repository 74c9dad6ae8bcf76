"""ser-convert writes each label's place on the circumplex into the manifest; the device reads it back."""

from __future__ import annotations

import json

from ser_convert.manifest import build_manifest
from ser_edge.frontend.params import FeatureParams
from ser_edge.model.bundle import load_bundle
from ser_edge.model.circumplex import DEFAULT_PLACEMENT

TENSOR = {"shape": [1, 7], "dtype": "int8", "scale": 0.1, "zero_point": 0}


def manifest_for(labels: list[str], **kwargs) -> dict:
    return build_manifest(model_id="m", sha256="0" * 64, size_bytes=1, labels=labels, params=FeatureParams(),
                          input_tensor=TENSOR, output_tensor=TENSOR, ops=[], training={}, licence={},
                          **kwargs)


def test_the_field_holds_every_label_in_label_order() -> None:
    four = ["neutral", "happy", "sad", "angry"]
    manifest = manifest_for(four)
    assert list(manifest["circumplex"]) == four
    assert manifest["circumplex"]["angry"] == [-0.6, 0.8]
    assert list(manifest)[:list(manifest).index("circumplex")][-1] == "labels"  # next to the labels
    json.dumps(manifest, allow_nan=False)


def test_a_given_placement_is_written_as_given_and_unknown_labels_get_none() -> None:
    assert manifest_for(["calm"], circumplex={"calm": [0.4, -0.6]})["circumplex"] == {"calm": [0.4, -0.6]}
    assert "circumplex" not in manifest_for(["neutral", "boredom"])


def test_a_converted_bundle_carries_and_loads_its_placement(tiny_bundle) -> None:
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert manifest["circumplex"] == {k: list(DEFAULT_PLACEMENT[k]) for k in manifest["labels"]}
    assert load_bundle(tiny_bundle).circumplex == {k: DEFAULT_PLACEMENT[k] for k in manifest["labels"]}


def test_the_card_shows_the_placement_and_its_sources(tiny_bundle) -> None:
    from ser_convert.card import render_card

    card = render_card(tiny_bundle)
    section = card[card.index("## Arousal and valence"):card.index("## Training data")]
    assert "(from its manifest)" in section and "| angry | -0.6 | +0.8 |" in section
    assert "Russell JA (1980)" in section and "Schuller B et al. (2009)" in section

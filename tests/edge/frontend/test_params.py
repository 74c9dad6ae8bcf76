"""FeatureParams: derived counts, validation messages, serialisation and hash."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ser_edge.errors import ConfigError
from ser_edge.frontend.params import FRONT_END_VERSION, PROSODY_FIELDS, FeatureParams, frames_in


def test_derived_sample_and_frame_counts():
    p = FeatureParams()
    assert (p.sample_rate, p.frame_length, p.hop_length) == (16000, 400, 160)
    assert p.window_samples == 24000  # 1500 ms
    assert p.window_frames == 1 + (24000 - 400) // 160 == 148
    assert p.window_hop_frames == 50 and p.window_hop_samples == 8000
    assert p.mel_fmax_hz == 7600.0
    assert FeatureParams(fmax_hz=None).mel_fmax_hz == 8000.0
    # 25 ms at 22.05 kHz is 551.25 samples: round half up gives 551
    assert FeatureParams(sample_rate=22050, n_fft=1024, fmax_hz=None).frame_length == 551


def test_frames_in():
    assert frames_in(399, 400, 160) == 0
    assert frames_in(400, 400, 160) == 1
    assert frames_in(559, 400, 160) == 1
    assert frames_in(560, 400, 160) == 2


def test_frozen_and_keyword_only():
    p = FeatureParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n_mfcc = 13  # type: ignore[misc]
    with pytest.raises(TypeError):
        FeatureParams(16000)  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"sample_rate": 0}, "sample_rate=0 is invalid; allowed: a positive integer"),
        ({"window": "blackman"}, "window='blackman' is invalid; allowed: hamming, hann, rect"),
        ({"n_mfcc": 50}, "n_mfcc=50 is invalid; allowed: at most n_mels=40"),
        ({"fmax_hz": 9000.0}, "fmax_hz=9000.0 is invalid; allowed: None or a frequency in (0, 8000] Hz"),
        ({"frame_ms": 40.0}, "frame_ms=40.0 is invalid; allowed: a frame of 1 to n_fft=512 samples"),
        ({"normalisation": "corpus"}, "normalisation='corpus' is invalid; allowed: window_cmvn, window_mean, none"),
        ({"preemphasis": 1.0}, "preemphasis=1.0 is invalid; allowed: a number in [0, 1)"),
    ],
)
def test_invalid_values_are_named(changes, message):
    with pytest.raises(ConfigError) as err:
        FeatureParams(**changes)
    assert message in str(err.value)


def test_round_trip_and_unknown_keys():
    p = FeatureParams(n_mfcc=20)
    data = json.loads(json.dumps(p.to_dict()))
    assert data["front_end_version"] == FRONT_END_VERSION
    assert FeatureParams.from_dict(data) == p
    with pytest.raises(ConfigError, match=r"manifest.json: unknown feature parameter\(s\) dither"):
        FeatureParams.from_dict({**data, "dither": 1.0}, source="manifest.json")
    with pytest.raises(ConfigError, match="front_end_version 99 is not supported"):
        FeatureParams.from_dict({**data, "front_end_version": 99})


def test_stable_hash():
    # Fixed value: a changed default changes every cache key and manifest, on purpose.
    assert FeatureParams().stable_hash() == FeatureParams().stable_hash()
    assert FeatureParams(n_mfcc=20).stable_hash() != FeatureParams().stable_hash()
    assert len(FeatureParams().stable_hash()) == 16


def test_every_field_documents_its_meaning():
    docs = {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(FeatureParams)}
    assert all(docs.values())
    for unit_field in ("sample_rate", "frame_ms", "hop_ms", "fmin_hz", "fmax_hz", "window_ms", "f0_min_hz", "f0_max_hz"):
        assert any(u in docs[unit_field] for u in ("Hz", "ms")), unit_field


def test_frame_hash_ignores_window_fields_only():
    p = FeatureParams()
    assert p.replace(window_ms=2000.0, normalisation="none").frame_hash() == p.frame_hash()
    assert p.replace(n_mfcc=20).frame_hash() != p.frame_hash()


#: feature-parameter hashes of the shipped bundles and the old bundle, as their manifests record
#: them: new fields (speaker normalisation, prosody) must leave them as they were
SHIPPED_HASHES = {"models/default": "cd5b7d0669b30a16", "tests/edge/old_bundles/window-cmvn-v1": "945afdec3403dd9c"}
#: their frame hashes: the MFCC frames of every bundle so far, and the prosody rows beside them for v3
FRAME_HASHES = {"models/default": "101ad56ed607432b", "tests/edge/old_bundles/window-cmvn-v1": "1636ace310542008"}


@pytest.mark.parametrize("bundle", sorted(SHIPPED_HASHES))
def test_shipped_bundles_keep_their_parameter_dict_and_hashes(bundle):
    root = Path(__file__).resolve().parents[3]
    manifest = json.loads((root / bundle / "manifest.json").read_text())
    params = FeatureParams.from_dict(manifest["feature_params"])
    assert params.to_dict() == manifest["feature_params"]
    assert params.stable_hash() == manifest["feature_params_hash"] == SHIPPED_HASHES[bundle]
    assert params.frame_hash() == FRAME_HASHES[bundle]  # what the feature cache keys its entries by
    assert params.prosody == (bundle == "models/default")  # v3 has the prosody tracks; older bundles not


def test_prosody_settings_are_written_only_when_they_matter():
    off = FeatureParams()
    assert not set(PROSODY_FIELDS) & set(off.to_dict())
    on = off.replace(prosody=True)
    assert {k: on.to_dict()[k] for k in PROSODY_FIELDS} == {
        "prosody": True, "f0_min_hz": 60.0, "f0_max_hz": 800.0, "voicing_threshold": 0.8}
    assert on.stable_hash() != off.stable_hash() and on.frame_hash() != off.frame_hash()  # cache entries apart
    assert on.replace(f0_min_hz=70.0).frame_hash() != on.frame_hash()
    changed = off.replace(f0_max_hz=600.0)  # off, but not the default: kept, so that it round-trips
    assert changed.to_dict()["f0_max_hz"] == 600.0 and changed.stable_hash() != off.stable_hash()
    for p in (on, changed, on.replace(voicing_threshold=0.6)):
        assert FeatureParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"prosody": 1}, "prosody=1 is invalid; allowed: true or false"),
        ({"f0_max_hz": 5000.0}, "f0_max_hz=5000.0 is invalid; allowed: a frequency in (0, 4000] Hz"),
        ({"f0_min_hz": 500.0}, "f0_min_hz=500.0 is invalid; allowed: a frequency in [20, f0_max_hz/2=400) Hz"),
        ({"f0_min_hz": 10.0}, "f0_min_hz=10.0 is invalid"),
        ({"voicing_threshold": 1.0}, "voicing_threshold=1.0 is invalid; allowed: a number in (0, 1)"),
        ({"voicing_threshold": "high"}, "voicing_threshold='high' is invalid"),
    ],
)
def test_invalid_prosody_settings_are_named(changes, message):
    with pytest.raises(ConfigError) as err:
        FeatureParams(**{"prosody": True, **changes})
    assert message in str(err.value)

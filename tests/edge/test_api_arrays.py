"""Arrays and sample rates in the Python API (issue 24 items 8, 9, 15): one rule for `classify`
and `iter_events` (docs/USAGE.md, Python API): int16 scaled by 1/32768, float32/float64 as they
are, (n,) or (n, 1), finite; everything else one AudioError naming what is wrong and allowed.
And the speaker statistics never take a non-finite frame."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ser_edge import api
from ser_edge.audio.read import load_audio
from ser_edge.errors import AudioError
from ser_edge.frontend.normalise import Prior, RunningStats
from ser_edge.listen.adapter import Adapter
from ser_edge.model.bundle import load_bundle
from ser_edge.model.shipped import default_bundle_path

RATE = 16000
ANGRY = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> np.ndarray:
    """The angry clip with a second of silence either side, float32."""
    gap = np.zeros(RATE, np.float32)
    return np.concatenate([gap, load_audio(data_dir / ANGRY), gap])


def emotions(events) -> list:
    return [(e.label, round(e.confidence, 2), e.start_s) for e in events if e.type == "emotion"]


def test_int16_is_scaled_and_agrees_with_float(speech: np.ndarray) -> None:
    pcm = np.round(speech * 32767).astype(np.int16)
    as_float = pcm.astype(np.float32) / 32768
    by_int, by_float = api.classify(pcm), api.classify(as_float)
    assert by_int.label == by_float.label == "angry" and by_int.scores == by_float.scores
    assert api.classify(pcm[:, None]) == by_int  # (n, 1) is mono too
    assert emotions(api.iter_events(pcm)) == emotions(api.iter_events(as_float)) != []
    blocks = (pcm[i: i + 800] for i in range(0, pcm.size, 800))
    assert emotions(api.iter_events(blocks)) == emotions(api.iter_events(as_float))


@pytest.mark.parametrize("bad, words", [
    (np.zeros(RATE, np.uint8), ["dtype uint8", "int16 (scaled by 1/32768), float32 or float64"]),
    (np.zeros(RATE, np.int32), ["dtype int32"]),
    (np.zeros(RATE, bool), ["dtype bool"]),
    (np.zeros(RATE, np.complex64), ["dtype complex64"]),
    (np.zeros((RATE, 2), np.float32), ["shape (16000, 2)", "(n,) or (n, 1)"]),
    (np.zeros((2, RATE, 1), np.float32), ["shape (2, 16000, 1)"]),
    (bytes(2 * RATE), ["a bytes is not samples", "np.frombuffer"]),
])
def test_other_arrays_are_refused_by_both_calls_naming_what_is_allowed(bad, words: list) -> None:
    for call in (lambda: api.classify(bad), lambda: list(api.iter_events(bad))):
        with pytest.raises(AudioError) as info:
            call()
        for word in words:
            assert word in str(info.value)


def test_nan_or_infinite_samples_are_refused(speech: np.ndarray) -> None:
    x = speech.copy()
    x[RATE: RATE + RATE // 10] = np.nan  # one 0.1 s block
    for bad in (x, np.where(np.isnan(x), np.inf, x)):
        with pytest.raises(AudioError, match="NaN or infinite"):
            api.classify(bad)
        with pytest.raises(AudioError, match="NaN or infinite"):
            list(api.iter_events(bad))
    blocks = [speech[:RATE], x[RATE: 2 * RATE], speech[2 * RATE:]]
    with pytest.raises(AudioError, match="NaN or infinite"):
        list(api.iter_events(iter(blocks)))


@pytest.mark.parametrize("rate", [0, 1.5, -16000, "16000", True, 3999, 768001, float("inf")])
def test_sample_rates_outside_the_file_readers_range_are_refused(speech: np.ndarray, rate) -> None:
    for call in (lambda: api.classify(speech, sample_rate=rate), lambda: list(api.iter_events(speech, sample_rate=rate))):
        with pytest.raises(AudioError, match="allowed: a whole number of Hz from 4000 to 768000"):
            call()


def test_a_nan_sample_rate_is_refused_at_once() -> None:
    """It hung for ever in the resampler: a child, so that a hang is a failure, not a stuck run."""
    code = ("import numpy as np; from ser_edge import api; from ser_edge.errors import AudioError\n"
            "for call in (api.classify, lambda x, **k: list(api.iter_events(x, **k))):\n"
            "    try: call(np.zeros(16000, np.float32), sample_rate=float('nan'))\n"
            "    except AudioError as exc: print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.count("sample_rate=nan is not supported") == 2, done.stdout + done.stderr
    assert api.classify(np.zeros(RATE, np.float32), sample_rate=16000.0).label  # a whole number as a float is fine


def test_the_statistics_never_take_a_non_finite_frame() -> None:
    bundle = load_bundle(default_bundle_path())
    n = bundle.params.n_mfcc
    rng = np.random.default_rng(1)
    good = rng.standard_normal((20, n))
    poisoned = good.copy()
    poisoned[[3, 7], 0] = [np.nan, np.inf]
    adapter = Adapter(bundle.params, bundle.prior, "on")
    adapter.learn(np.full((5, n), np.nan))
    assert not adapter.dirty and adapter.stats.heard_s == 0.0
    adapter.learn(poisoned)
    clean = Adapter(bundle.params, bundle.prior, "on")
    clean.learn(np.delete(good, [3, 7], axis=0))
    np.testing.assert_allclose(adapter.stats.mean, clean.stats.mean, rtol=1e-12)
    assert np.all(np.isfinite(adapter.norm().inv_std)) and adapter.stats.heard_s == clean.stats.heard_s
    stats = RunningStats(Prior(np.zeros(n), np.ones(n)), prior_s=1.0, time_constant_s=60.0, hop_s=0.01)
    stats.update(poisoned)
    assert np.all(np.isfinite(stats.mean)) and np.all(np.isfinite(stats.var))

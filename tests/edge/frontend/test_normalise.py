"""Speaker normalisation statistics: streaming equals batch, forgetting, the prior, and the
parameters' hash unchanged for bundles made before speaker normalisation existed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ser_edge.frontend.normalise import Prior, RunningStats, batch_stats, population_prior, voiced
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.windows import clip_windows, normalise_window

P = FeatureParams(normalisation="speaker_cmvn", adapt_time_constant_s=20.0, adapt_prior_s=5.0)
# the default model shipped before speaker normalisation
SHIPPED = Path(__file__).resolve().parents[1] / "old_bundles" / "window-cmvn-v1" / "manifest.json"


def _prior(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return Prior(rng.normal(size=n), rng.uniform(0.5, 2.0, size=n), 3, 100.0)


def _frames(n, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 30)) * 4 + 7).astype(np.float32)


def test_streaming_equals_batch_for_any_chunks():
    x = _frames(5000)
    whole = batch_stats(P, _prior(), [x])
    rng = np.random.default_rng(2)
    cuts = np.sort(rng.choice(np.arange(1, 5000), size=60, replace=False))
    chunked = batch_stats(P, _prior(), np.split(x, cuts))
    one_by_one = batch_stats(P, _prior(), (x[i:i + 1] for i in range(x.shape[0])))
    for other in (chunked, one_by_one):
        np.testing.assert_allclose(other.mean, whole.mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(other.var, whole.var, rtol=1e-9, atol=1e-9)
        assert other.weight == pytest.approx(whole.weight, rel=1e-12)


def test_batch_equals_the_closed_form():
    x = _frames(700).astype(np.float64)
    prior = _prior()
    stats = batch_stats(P, prior, [x])
    h, tau, n = 0.01, 20.0, x.shape[0]
    w = h * np.exp(-(n - 1 - np.arange(n)) * h / tau)
    w0 = 5.0 * np.exp(-n * h / tau)
    mean = (w0 * prior.mean + w @ x) / (w0 + w.sum())
    second = (w0 * (prior.var + prior.mean**2) + w @ (x * x)) / (w0 + w.sum())
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-10)
    np.testing.assert_allclose(stats.var, second - mean**2, rtol=1e-8)
    assert stats.speech_s == pytest.approx(w.sum())
    assert stats.heard_s == pytest.approx(7.0)


def test_no_frames_is_the_prior_and_long_speech_forgets_it():
    prior = _prior()
    cold = RunningStats.for_params(P, prior)
    np.testing.assert_allclose(cold.mean, prior.mean)
    np.testing.assert_allclose(cold.var, prior.var)
    assert cold.speech_s == 0.0
    x = _frames(20000, seed=5)  # 200 s of speech = 10 time constants
    warm = batch_stats(P, prior, [x])
    assert warm.prior_weight < 1e-3 and warm.weight == pytest.approx(20.0, rel=1e-3)
    recent = x[-6000:].astype(np.float64)  # the last 3 time constants dominate
    np.testing.assert_allclose(warm.mean, recent.mean(axis=0), atol=0.15)


def test_no_forgetting_limit_is_the_plain_weighted_mean():
    params = P.replace(adapt_time_constant_s=1e12)
    x = _frames(300).astype(np.float64)
    stats = batch_stats(params, _prior(), [x])
    np.testing.assert_allclose(stats.mean, (5.0 * _prior().mean + 0.01 * x.sum(axis=0)) / 8.0, rtol=1e-9)


def test_speaker_windows_use_the_given_statistics():
    x = _frames(400)
    stats = batch_stats(P, _prior(), [x])
    windows, _ = clip_windows(x, np.ones(400, bool), P, norm=stats.norm())
    expected = (x[:148] - stats.mean) / np.sqrt(stats.var)
    np.testing.assert_allclose(windows[0], expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="statistics"):
        normalise_window(x[:148], P)


def test_voiced_and_population_prior():
    x = _frames(10)
    flags = np.array([1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1], bool)  # flags may run longer
    np.testing.assert_array_equal(voiced(x, flags), x[[0, 2, 3, 9]])
    a, b = _frames(100, 1), _frames(200, 2) + 3
    prior = population_prior({"s1": a, "s2": b, "empty": x[:0]}, 0.01)
    np.testing.assert_allclose(prior.mean, (a.mean(0) + b.mean(0)) / 2, rtol=1e-5)
    np.testing.assert_allclose(prior.var, (a.var(0) + b.var(0)) / 2, rtol=1e-4)
    assert prior.speakers == 2 and prior.seconds == pytest.approx(3.0)


def test_prior_from_dict_checks_shape_finite_and_positive_variance():
    good = _prior().to_dict()
    assert Prior.from_dict(good, 30).speakers == 3
    for bad, why in (({**good, "mean": good["mean"][:29]}, "30 numbers"), ({**good, "var": [0.0] * 30}, "> 0"),
                     ({**good, "mean": [float("nan")] * 30}, "non-finite"), (None, "object"),
                     ({**good, "speakers": None}, "speakers must be a count"), ({**good, "speakers": -1}, "count"),
                     ({**good, "seconds": "long"}, "seconds must be a finite number"),
                     ({**good, "seconds": float("inf")}, "finite")):
        with pytest.raises(ValueError, match=why):
            Prior.from_dict(bad, 30)


def test_params_made_before_speaker_normalisation_keep_their_hash():
    manifest = json.loads(SHIPPED.read_text())
    params = FeatureParams.from_dict(manifest["feature_params"])
    assert params.to_dict() == manifest["feature_params"]
    assert params.stable_hash() == manifest["feature_params_hash"] == FeatureParams().stable_hash()
    speaker = FeatureParams(normalisation="speaker_cmvn")
    assert {"adapt_time_constant_s", "adapt_prior_s"} <= set(speaker.to_dict())
    assert FeatureParams.from_dict(speaker.to_dict()) == speaker
    assert speaker.frame_hash() == FeatureParams().frame_hash()  # same cached frames
    assert speaker.stable_hash() != speaker.replace(adapt_prior_s=3.0).stable_hash()


def test_leave_one_out_equals_the_statistics_without_each_block():
    from ser_edge.frontend.normalise import leave_one_out

    rng = np.random.default_rng(4)
    blocks = [_frames(int(rng.integers(1, 400)), seed=k) for k in range(12)]
    fast = leave_one_out(P, _prior(), blocks)
    for i in range(len(blocks)):
        slow = batch_stats(P, _prior(), blocks[:i] + blocks[i + 1:])
        np.testing.assert_allclose(fast[i].mean, slow.mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(fast[i].var, slow.var, rtol=1e-8, atol=1e-9)
        assert fast[i].speech_s == pytest.approx(slow.speech_s, rel=1e-9)
        assert fast[i].heard_s == pytest.approx(slow.heard_s)
    assert len(leave_one_out(P, _prior(), blocks[:1])) == 1

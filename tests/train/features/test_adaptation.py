"""Training and evaluation statistics come from the device's implementation: budgets, the
speaker's other clips, the prior for a cold start; a speaker-normalised run converts to a
bundle the device loads, and `eval` reports cold and adapted figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ser_edge.frontend.normalise import batch_stats
from ser_edge.frontend.params import FeatureParams
from ser_train.data.corpora import Clip
from ser_train.features.speakers import Budget, held_out_norms, settled_norms, stats_from, training_norms, training_prior

P = FeatureParams(normalisation="speaker_cmvn")


def _data(n_speakers=3, clips=5, seed=0):
    rng = np.random.default_rng(seed)
    clip_list, voiced = [], {}
    for s in range(n_speakers):
        for c in range(clips):
            clip_list.append(Clip(Path(f"/x/{s}_{c}.wav"), "ravdess", f"ravdess:{s:02d}", "happy"))
            voiced[len(clip_list) - 1] = (rng.normal(size=(rng.integers(100, 300), 30)) + s * 2).astype(np.float32)
    return clip_list, voiced


def test_budget_is_within_bounds():
    rng = np.random.default_rng(0)
    picks = [Budget(3.0, 0.0).pick(40.0, rng) for _ in range(500)]
    assert min(picks) >= 3.0 and max(picks) <= 40.0 and np.median(picks) < 20.0  # log-uniform
    assert Budget(3.0, 10.0).pick(40.0, rng) <= 10.0 and Budget(3.0).pick(1.0, rng) <= 1.0


def test_stats_from_a_budget_takes_exactly_that_much_speech():
    clips, voiced = _data()
    prior = training_prior(clips, voiced, P)
    blocks = [voiced[i] for i in range(5)]
    stats = stats_from(P, prior, blocks, 2.5)
    assert stats.heard_s == pytest.approx(2.5)
    np.testing.assert_allclose(stats.mean, batch_stats(P, prior, [np.concatenate(blocks)[:250]]).mean, rtol=1e-9)
    assert stats_from(P, prior, blocks, 0.0).heard_s == 0.0
    assert stats_from(P, prior, blocks, None).heard_s == pytest.approx(sum(b.shape[0] for b in blocks) / 100)


def test_prior_is_the_mean_of_speaker_statistics():
    clips, voiced = _data()
    prior = training_prior(clips, voiced, P)
    per_speaker = [np.concatenate([voiced[i] for i in range(s * 5, s * 5 + 5)]).astype(np.float64) for s in range(3)]
    np.testing.assert_allclose(prior.mean, np.mean([f.mean(0) for f in per_speaker], axis=0), rtol=1e-6)
    assert prior.speakers == 3


def test_with_all_speech_and_no_forgetting_every_draw_is_the_settled_statistics():
    params = P.replace(adapt_time_constant_s=1e12)
    clips, voiced = _data()
    prior = training_prior(clips, voiced, params)
    drawn = training_norms(clips, range(len(clips)), voiced, params, prior, Budget(1e6, 0.0, 4), np.random.default_rng(1))
    settled = settled_norms(clips, range(len(clips)), voiced, params, prior)
    for key, norm in drawn.items():
        np.testing.assert_allclose(norm.mean, settled[key].mean, rtol=1e-5)


def test_random_budgets_vary_per_speaker_and_stay_within_the_speaker():
    params = P.replace(adapt_prior_s=0.5)  # a light prior: the speaker's own speech dominates
    clips, voiced = _data()
    prior = training_prior(clips, voiced, params)
    norms = training_norms(clips, range(len(clips)), voiced, params, prior, Budget(3.0, 0.0, 8), np.random.default_rng(2))
    assert len({norms[(i, "clean")].mean.tobytes() for i in range(5)}) > 1  # different budgets
    for s in range(3):  # each speaker's statistics are near that speaker's mean (2 s), not another's
        means = [float(norms[(i, "clean")].mean.mean()) for i in range(s * 5, s * 5 + 5)]
        assert all(abs(m - 2 * s) < 0.8 for m in means)


def test_held_out_statistics_leave_the_clip_out_and_budget_zero_is_the_prior():
    clips, voiced = _data()
    clips.append(Clip(Path("/x/nobody.wav"), "user", "", "happy"))
    voiced[len(clips) - 1] = np.full((50, 30), 9.0, np.float32)
    prior = training_prior(clips, voiced, P)
    norms, fallback = held_out_norms(clips, voiced, P, prior, None)
    assert fallback == 1
    others = [voiced[j] for j in range(1, 5)]
    assert norms[(0, "clean")].mean.shape == (30,)
    # leave-one-out: the clip's own frames are not in its statistics (order aside, with no forgetting)
    flat = P.replace(adapt_time_constant_s=1e12)
    loo, _ = held_out_norms(clips, voiced, flat, prior, None)
    np.testing.assert_allclose(loo[(0, "clean")].mean, batch_stats(flat, prior, others).norm().mean, rtol=1e-5)
    cold, _ = held_out_norms(clips, voiced, P, prior, 0.0)
    np.testing.assert_allclose(cold[(3, "clean")].mean, prior.mean.astype(np.float32))


def test_held_out_norms_can_learn_from_neutral_clips_alone():
    import dataclasses

    clips, voiced = _data(n_speakers=1, clips=6)
    clips = [dataclasses.replace(c, emotion="neutral" if k < 3 else "angry") for k, c in enumerate(clips)]
    for k in range(3, 6):
        voiced[k] = voiced[k] + 5.0  # angry clips: another level altogether
    prior = training_prior(clips, voiced, P)
    flat = P.replace(adapt_time_constant_s=1e12)
    norms, _ = held_out_norms(clips, voiced, flat, prior, None, learn_from=lambda c: c.emotion == "neutral")
    expected = batch_stats(flat, prior, [voiced[1], voiced[2]]).norm().mean  # clip 0's neutral others, in any order
    np.testing.assert_allclose(norms[(0, "clean")].mean, expected, rtol=1e-5)
    np.testing.assert_allclose(norms[(4, "clean")].mean, batch_stats(flat, prior, [voiced[k] for k in range(3)]).norm().mean,
                               rtol=1e-5)  # an angry clip adapts on the neutral ones too


def test_speaker_run_converts_and_evaluates_cold_and_adapted(tiny_data: Path, tmp_path: Path):
    pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")
    from ser_convert.convert import convert_run
    from ser_edge.model.bundle import load_bundle
    from ser_train.config import ModelConfig, TrainConfig
    from ser_train.evaluate.clips import evaluate
    from ser_train.features.augment import AugmentConfig
    from ser_train.fit.train import fit

    config = TrainConfig(data_dirs=(str(tiny_data),), test_speakers=("ravdess:04",), validation_speakers=("ravdess:03",),
                         epochs=1, patience=1, batch_size=16, workers=1, cache_dir=str(tmp_path / "cache"),
                         model=ModelConfig(width=8, depth=1), augment=AugmentConfig.off(), params=P, budget_draws=2)
    fit(config, tmp_path / "run", progress=False, verbose=0)
    block = json.loads((tmp_path / "run" / "normalisation.json").read_text())
    assert block["kind"] == "speaker_cmvn" and len(block["statistics"]["mean"]) == 30
    assert block["statistics"]["speakers"] == 2  # actors 01 and 02 train
    bundle_dir, _ = convert_run(tmp_path / "run", tmp_path / "bundle", progress=False, gate=False)
    bundle = load_bundle(bundle_dir)
    assert bundle.adaptive and bundle.manifest["normalisation"] == block
    result = evaluate(bundle_dir, [tiny_data], speakers=("ravdess:04",), adapt_seconds=5.0, cache_dir=tmp_path / "cache")
    assert result["cold"]["n"] == result["adapted"]["n"] == result["n"] == 30
    assert result["adapt_seconds"] == 5.0 and result["fallback_clips"] == 0 and "note" not in result
    assert result["runtime"] == "tflite-int8"

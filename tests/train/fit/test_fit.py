"""`ser-train fit` on a few real clips: the run folder, the split, the cache."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_edge.frontend.params import FeatureParams
from ser_train.config import TrainConfig
from ser_train.features.cache import FeatureCache, extract
from ser_train.fit.run import load_run
from ser_train.fit.train import mix_batch


def test_run_folder_has_everything(tiny_run):
    names = {p.name for p in tiny_run.iterdir()}
    assert {"model.keras", "params.json", "labels.json", "normalisation.json", "config.json", "split.json",
            "data.json", "metrics.json", "history.json", "curves.png", "confusion.png", "clips.json"} <= names
    run = load_run(tiny_run)
    assert run.labels == ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    assert run.params == FeatureParams()
    test = run.metrics["test"]
    assert {"n", "accuracy", "uar", "macro_f1", "per_class_recall", "confusion"} <= set(test)
    assert test["n"] == 30 and np.array(test["confusion"]["matrix"]).sum() == 30
    assert json.loads((tiny_run / "normalisation.json").read_text())["statistics"] is None


def test_split_is_by_speaker(tiny_run):
    split = json.loads((tiny_run / "split.json").read_text())
    assert split == {"train": ["ravdess:01", "ravdess:02"], "validation": ["ravdess:03"], "test": ["ravdess:04"]}
    data = json.loads((tiny_run / "data.json").read_text())
    assert data["test"]["speakers"] == ["ravdess:04"] and data["train"]["clips"] == 60


def test_config_round_trips(tiny_run):
    config = load_run(tiny_run).config
    assert config == TrainConfig.from_dict(json.loads((tiny_run / "config.json").read_text()))
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.augment.copies == 1


def test_feature_cache_is_reused_and_bad_files_are_skipped(tiny_data, tmp_path):
    bad = tmp_path / "03-01-05-01-01-01-09.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    paths = sorted(tiny_data.rglob("*.flac"))[:6] + [bad]
    cache = FeatureCache(tmp_path / "cache", FeatureParams())
    first, failed = extract(paths, cache, workers=1, progress=False)
    assert len(first) == 6 and [p for p, _ in failed] == [bad] and str(bad) in failed[0][1]
    stamps = {p: p.stat().st_mtime_ns for p in cache.root.rglob("*.npz")}
    again, _ = extract(paths, cache, workers=2, progress=False)
    assert {p: p.stat().st_mtime_ns for p in cache.root.rglob("*.npz")} == stamps  # read, not rewritten
    for key, feats in first.items():
        np.testing.assert_array_equal(again[key].frames, feats.frames)
    # window settings do not change the frames, so they share the cache
    assert FeatureCache(tmp_path / "cache", FeatureParams(window_ms=2000.0)).root == cache.root


def test_mixup_blends_windows_targets_and_weights_with_one_partner_each():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 150, 30)).astype(np.float32)
    y = np.eye(32, dtype=np.float32)  # a class per window, so each target names its partner
    w = rng.uniform(0.5, 2.0, 32).astype(np.float32)
    mx, my, mw = mix_batch(x, y, w, 0.4, np.random.default_rng(1))
    assert mx.dtype == my.dtype == mw.dtype == np.float32 and mx.shape == x.shape
    np.testing.assert_allclose(my.sum(axis=1), 1.0, rtol=1e-6)  # still a distribution
    lam = np.diag(my)
    assert (lam >= 0.5).all() and (lam < 0.99).any()  # each window keeps most of itself
    for i in range(len(x)):
        others = my[i].copy()
        others[i] = 0
        j = int(np.argmax(others)) if others.max() > 0 else i
        np.testing.assert_allclose(mx[i], lam[i] * x[i] + (1 - lam[i]) * x[j], atol=1e-5)
        np.testing.assert_allclose(mw[i], lam[i] * w[i] + (1 - lam[i]) * w[j], rtol=1e-5)


def test_mixup_must_be_a_sane_alpha(tmp_path):
    with pytest.raises(ConfigError, match="mixup=-1"):
        TrainConfig(data_dirs=(str(tmp_path),), mixup=-1)


def test_excluded_speakers_are_in_no_part_and_must_exist(tiny_data, tmp_path):
    from ser_train.features.augment import AugmentConfig
    from ser_train.fit.prepare import prepare

    config = TrainConfig(data_dirs=(str(tiny_data),), test_speakers=("ravdess:04",), validation_speakers=("ravdess:03",),
                         exclude_speakers=("ravdess:02",), workers=1, cache_dir=str(tmp_path / "cache"),
                         augment=AugmentConfig.off())
    data = prepare(config, progress=False)
    assert data.split.train == {"ravdess:01"} and {c.speaker for c in data.clips} == {"ravdess:01", "ravdess:03", "ravdess:04"}
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ConfigError, match="exclude_speakers: ravdess:19 not in the data"):
        prepare(dataclasses.replace(config, exclude_speakers=("19",)), progress=False)


def _clips(*specs: tuple[str, str]):
    """Stand-in clips with the two fields balancing reads: (corpus, speaker) each."""
    Clip = type("Clip", (), {})
    clips = []
    for corpus, speaker in specs:
        clip = Clip()
        clip.corpus, clip.balance_key = corpus, f"{corpus}:{speaker}"
        clips.append(clip)
    return clips


def test_corpus_balance_gives_each_corpus_and_each_class_the_same_weight():
    from ser_train.features.windows import WindowSet
    from ser_train.fit.balance import window_weights

    # corpus a: three speakers, both classes, 2 windows each; corpus b: one speaker, 6 windows of class 0, 2 of class 1
    specs = [("a", s) for s in "xyz" for _ in range(4)] + [("b", "w")] * 8
    y = np.array([0, 0, 1, 1] * 3 + [0] * 6 + [1] * 2)
    clips = _clips(*specs)
    windows = WindowSet(np.zeros((len(y), 1, 1), np.float32), y, np.arange(len(y)))
    data = type("Data", (), {"clips": clips})()
    w = window_weights(windows, data, 2, "class+speaker+corpus")
    corpus_b = np.arange(len(y)) >= 12
    assert w.mean() == pytest.approx(1.0)
    assert w[corpus_b].sum() == pytest.approx(w[~corpus_b].sum(), rel=1e-6)  # the lone speaker weighs as much as three
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum(), rel=0.02)
    speaker_totals = [w[i:i + 4].sum() for i in (0, 4, 8)]
    assert np.allclose(speaker_totals, speaker_totals[0])
    # class+speaker alone lets corpus a's three speakers outweigh b's one
    plain = window_weights(windows, data, 2, "class+speaker")
    assert plain[~corpus_b].sum() > 2 * plain[corpus_b].sum()


def test_balance_and_label_smoothing_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="balance='corpus' is invalid; allowed: one of 'class', 'class\\+speaker'"):
        TrainConfig(data_dirs=(str(tmp_path),), balance="corpus")
    with pytest.raises(ConfigError, match="label_smoothing=0.7"):
        TrainConfig(data_dirs=(str(tmp_path),), label_smoothing=0.7)


def test_fixed_and_averaged_endings_train_every_epoch(tiny_data, tmp_path):
    """--ending fixed: no early stopping, no restored epoch (the lever of how training ends); the
    default ending leaves configs and cv recipes as they were."""
    from ser_train.config import ModelConfig
    from ser_train.features.augment import AugmentConfig
    from ser_train.fit.prepare import prepare
    from ser_train.fit.train import train_model

    base = TrainConfig(data_dirs=(str(tiny_data),), test_speakers=("ravdess:04",), validation_speakers=("ravdess:03",),
                       epochs=8, patience=1, batch_size=16, workers=1, cache_dir=str(tmp_path / "cache"),
                       augment=AugmentConfig.off(), model=ModelConfig(width=8, depth=1))
    data = prepare(base, progress=False)
    _, stopped = train_model(base, data, verbose=0)
    assert len(stopped["loss"]) < 8  # patience 1: the best ending stops early on this tiny data
    fixed = dataclasses.replace(base, ending="fixed")
    _, history = train_model(fixed, data, verbose=0)
    assert len(history["loss"]) == 8
    assert "ending" not in base.to_dict() and TrainConfig.from_dict(json.loads(json.dumps(fixed.to_dict()))) == fixed
    model, averaged = train_model(dataclasses.replace(base, ending="average", epochs=4), data, verbose=0)
    assert len(averaged["loss"]) == 4
    # the averaged weights differ from those any single epoch ended with: the last epoch's, retrained
    last, _ = train_model(dataclasses.replace(base, ending="fixed", epochs=4), data, verbose=0)
    assert not np.allclose(model.get_layer("logits").get_weights()[0], last.get_layer("logits").get_weights()[0])

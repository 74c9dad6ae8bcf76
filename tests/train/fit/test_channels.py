"""`--channels prosody`: three prosodic channels beside the MFCC in every window, on real clips;
a tiny run trains on them, and neither `ser-convert` nor `ser-train eval` takes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import PROSODY_COLUMNS
from ser_train.config import ModelConfig, TrainConfig
from ser_train.data.clips import Clip
from ser_train.data.labels import get_label_set
from ser_train.features.cache import FeatureCache, extract
from ser_train.features.windows import build_windows, prosody_channels, speaker_f0_means

TRAIN = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
CONVERT = "import sys; from ser_convert.cli import main; sys.argv = ['ser-convert', *sys.argv[1:]]; main()"
PARAMS = FeatureParams(prosody=True)

pytestmark = pytest.mark.data


def _cli(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def actor(data_dir: Path, tmp_path_factory):
    """Six real clips of RAVDESS actor 01 (neutral, happy, angry), their clips and cached features."""
    names = ("03-01-01-01-01-01-01", "03-01-01-01-02-01-01", "03-01-03-01-01-01-01", "03-01-03-02-01-01-01",
             "03-01-05-01-01-01-01", "03-01-05-02-01-01-01")
    emotions = {"01": "neutral", "03": "happy", "05": "angry"}
    clips = [Clip(path=data_dir / "ravdess" / "Actor_01" / f"{n}.flac", corpus="ravdess", speaker="ravdess:01",
                  emotion=emotions[n.split("-")[2]]) for n in names]
    cache = FeatureCache(tmp_path_factory.mktemp("channels_cache"), PARAMS)
    features, failed = extract([c.path for c in clips], cache, workers=1, progress=False)
    assert not failed
    return clips, features


def test_windows_get_three_prosodic_channels_after_the_same_mfcc(actor):
    clips, features = actor
    label_set = get_label_set("7class")
    plain = build_windows(clips, features, label_set, PARAMS)
    both = build_windows(clips, features, label_set, PARAMS, channels="prosody")
    assert plain.x.shape[-1] == 30 and both.x.shape == plain.x.shape[:2] + (33,) and both.x.dtype == np.float32
    assert np.array_equal(both.x[..., :30], plain.x) and np.array_equal(both.clip, plain.clip)
    f0, voicing, energy = both.x[..., 30], both.x[..., 31], both.x[..., 32]
    assert np.isfinite(both.x).all() and voicing.min() >= 0 and voicing.max() <= 1
    assert 0.2 < (f0 != 0).mean() < 0.95  # speech: voiced and unvoiced frames both
    assert np.abs(f0).max() < 1.5  # within a factor of 4.5 of the speaker's mean F0
    assert energy.max() - energy.min() > 5  # loud vowels against pauses, in natural-log units of power


def test_f0_is_relative_to_the_speaker_and_energy_to_the_clip_s_speech(actor):
    clips, features = actor
    means = speaker_f0_means(clips, features, ["clean"])
    mean = means[("ravdess:01", "clean")]
    assert np.log(80) < mean < np.log(300)  # a man's voice, natural log of Hz
    rows = [prosody_channels(features[(c.path, "clean")], mean) for c in clips]
    voiced = np.concatenate([r[:, 0] for r in rows])[np.concatenate(
        [features[(c.path, "clean")].prosody[:, PROSODY_COLUMNS.index("voiced")] > 0.5 for c in clips])]
    assert abs(voiced.mean()) < 1e-5  # over all of the speaker's voiced frames
    angry, neutral = rows[5][:, 0], rows[0][:, 0]  # strong anger, neutral
    assert angry[angry != 0].mean() > neutral[neutral != 0].mean()  # the level survives: angry speech is higher
    for clip, r in zip(clips, rows):
        speech = features[(clip.path, "clean")].speech[: len(r)]
        assert abs(r[speech, 2].mean()) < 1e-4


def test_prosody_channels_need_the_prosody_rows_and_the_network():
    with pytest.raises(ConfigError, match="prosody"):
        TrainConfig(data_dirs=("x",), model=ModelConfig(channels="prosody"))
    with pytest.raises(ConfigError, match="conv1d"):
        TrainConfig(data_dirs=("x",), params=PARAMS, model=ModelConfig(kind="functionals", channels="prosody"))
    config = TrainConfig(data_dirs=("x",), params=PARAMS, model=ModelConfig(channels="prosody"))
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert "channels" not in ModelConfig().to_dict()  # recipes from before the option keep their dict


@pytest.mark.slow
def test_a_run_with_prosodic_channels_trains_and_is_refused_by_the_converter(tiny_data, tmp_path):
    (tmp_path / "prosody.json").write_text('{"prosody": true}')
    run = tmp_path / "run"
    proc = _cli(TRAIN, "fit", str(tiny_data), "-o", str(run), "--channels", "prosody", "--params",
                str(tmp_path / "prosody.json"), "--test-speakers", "04", "--validation-speakers", "03", "--no-augment",
                "--epochs", "1", "--width", "8", "--depth", "1", "--cache", str(tmp_path / "cache"))
    assert proc.returncode == 0, proc.stderr
    from ser_train.fit.run import load_run

    loaded = load_run(run)
    assert loaded.config.model.channels == "prosody" and loaded.load_model().input_shape == (None, PARAMS.window_frames, 33)
    proc = _cli(CONVERT, str(run), "-o", str(tmp_path / "bundle"))
    assert proc.returncode == 78 and "Traceback" not in proc.stderr
    assert "the device does not feed prosodic channels yet" in proc.stderr and not (tmp_path / "bundle").exists()
    proc = _cli(TRAIN, "eval", str(run), str(tiny_data), "--cache", str(tmp_path / "cache"))
    assert proc.returncode != 0 and "does not feed yet" in proc.stderr and "Traceback" not in proc.stderr

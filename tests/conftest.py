"""Shared fixtures: where the corpora are, and skipping cleanly where they are not.

The corpora are never copied into the repo. Tests read them from ``../shared/data``
beside the checkout, or from the folder named by ``SER_EDGE_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"


def data_root() -> Path:
    """The corpora folder: $SER_EDGE_DATA, else ../shared/data beside the checkout."""
    return Path(os.environ.get("SER_EDGE_DATA", DEFAULT_DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The corpora folder; tests that need it skip, saying why, when it is absent."""
    root = data_root()
    if not (root / "ravdess").is_dir():
        pytest.skip(f"corpora not found at {root} (set SER_EDGE_DATA to the folder holding ravdess/ and tess/)")
    return root


@pytest.fixture(scope="session")
def quirks_dir(data_dir: Path) -> Path:
    return data_dir / "quirks"


# ---- a tiny trained model, for tests of training, conversion and the runtime ---------------

TINY_ACTORS = ("01", "02", "03", "04")  # train 01-02, validation 03, test 04


@pytest.fixture(scope="session")
def tiny_data(data_dir: Path, tmp_path_factory) -> Path:
    """A folder of symlinks to 120 real RAVDESS clips (4 actors, first repetition only)."""
    root = tmp_path_factory.mktemp("tiny_data") / "ravdess"
    for actor in TINY_ACTORS:
        folder = root / f"Actor_{actor}"
        folder.mkdir(parents=True)
        for clip in sorted((data_dir / "ravdess" / f"Actor_{actor}").glob("*.flac")):
            if clip.stem.split("-")[5] == "01":  # repetition 01: half the clips, every emotion
                (folder / clip.name).symlink_to(clip)
    return root


def _tiny_fit(tiny_data: Path, out: Path, **settings) -> Path:
    """`ser_train.fit.train.fit` of a very small model on the tiny data (a few seconds on 2 cores):
    RAVDESS 01-02 train, 03 validates, 04 tests; ``settings`` are further TrainConfig fields."""
    pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")
    from ser_train.config import TrainConfig
    from ser_train.fit.train import fit

    config = TrainConfig(
        data_dirs=(str(tiny_data),), test_speakers=("ravdess:04",), validation_speakers=("ravdess:03",),
        epochs=3, patience=2, batch_size=16, workers=1, cache_dir=str(out / "cache"), **settings)
    fit(config, out / "run", progress=False, verbose=0)
    return out / "run"


@pytest.fixture(scope="session")
def tiny_run(tiny_data: Path, tmp_path_factory) -> Path:
    """A run folder from `ser_train.fit.train` with a very small model, window-normalised, augmented."""
    pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")
    from ser_train.config import ModelConfig
    from ser_train.features.augment import AugmentConfig

    return _tiny_fit(tiny_data, tmp_path_factory.mktemp("tiny_run"), model=ModelConfig(width=8, depth=2),
                     augment=AugmentConfig.off().replace(copies=1, noise_p=1.0))


@pytest.fixture(scope="session")
def tiny_bundle(tiny_run: Path, tmp_path_factory) -> Path:
    """The tiny run converted to a full-int8 bundle by `ser_convert`."""
    from ser_convert.convert import convert_run

    # a few epochs on two speakers: far below the class gate, which tests of the conversion itself skip
    bundle, _ = convert_run(tiny_run, tmp_path_factory.mktemp("tiny_bundle") / "bundle", progress=False, gate=False)
    return bundle


@pytest.fixture(scope="session")
def tiny_fusion_run(tiny_data: Path, tmp_path_factory) -> Path:
    """As `tiny_run`, speaker-normalised, with prosody and an utterance head (``--head fusion``)."""
    pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")
    from ser_edge.frontend.params import FeatureParams
    from ser_train.config import ModelConfig
    from ser_train.features.augment import AugmentConfig

    return _tiny_fit(tiny_data, tmp_path_factory.mktemp("tiny_fusion_run"), budget_draws=2,
                     params=FeatureParams(prosody=True, normalisation="speaker_cmvn"),
                     model=ModelConfig(width=8, depth=2, head="fusion"), augment=AugmentConfig.off())


@pytest.fixture(scope="session")
def tiny_fusion_bundle(tiny_fusion_run: Path, tmp_path_factory) -> Path:
    """The tiny fusion run converted (class gate off, as for `tiny_bundle`): a bundle with an utterance head."""
    from ser_convert.convert import convert_run

    bundle, _ = convert_run(tiny_fusion_run, tmp_path_factory.mktemp("tiny_fusion") / "bundle", progress=False,
                            gate=False)
    return bundle


@pytest.fixture(autouse=True)
def _own_state_home(tmp_path_factory, monkeypatch) -> None:
    """Each test its own $XDG_STATE_HOME: a listener adapting to its speaker keeps statistics there
    (ser_edge.service.adaptstore), which must neither leak between tests nor touch the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)

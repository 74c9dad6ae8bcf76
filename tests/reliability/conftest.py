"""Fixtures shared by the reliability tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from tests.edge.speaker_bundle import make_speaker_bundle

from .support import Listener


@pytest.fixture
def running() -> Iterator[Any]:
    """running(*args) -> a `ser-edge listen` child (`Listener`), killed at the end of the test."""
    made: list[Listener] = []

    def start(*args: str, **kwargs: Any) -> Listener:
        made.append(Listener(*args, **kwargs))
        return made[-1]

    yield start
    for listener in made:
        listener.stop()


#: speech for the speaker-statistics tests: a strong angry RAVDESS clip of a held-out actor
SPEECH_CLIP = "ravdess/Actor_17/03-01-05-02-01-01-17.flac"


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> bytes:
    """`SPEECH_CLIP` then 0.5 s of silence, 16-bit PCM bytes at 16 kHz."""
    x = np.concatenate([load_audio(data_dir / SPEECH_CLIP), np.zeros(8000, np.float32)])
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def bundle(data_dir: Path, tmp_path_factory) -> Path:
    """A small speaker-normalised bundle (tests/edge/speaker_bundle.py)."""
    return make_speaker_bundle(tmp_path_factory.mktemp("speaker") / "bundle", data_dir)

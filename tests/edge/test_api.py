"""The Python API: classify clips, iterate events from files, arrays and iterables, listen with a callback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ser_edge import api
from ser_edge.audio.read import load_audio, resample
from ser_edge.config.settings import SmoothingSettings
from ser_edge.errors import AudioError
from ser_edge.events import EmotionEvent, Event
from ser_edge.model.bundle import load_bundle
from ser_edge.model.shipped import default_bundle_path
from ser_edge.sources import FileSource, MicrophoneSource

from ..wavgen import write_wav

RATE = 16000
ANGRY = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"


@pytest.fixture(scope="module")
def angry(data_dir: Path) -> tuple[Path, np.ndarray]:
    path = data_dir / ANGRY
    return path, load_audio(path)


def strip(events: list[Event]) -> list[dict]:
    out = []
    for e in events:
        data = e.to_dict()
        data.pop("time")
        if data["type"] == "status":
            data = {k: data[k] for k in ("type", "seq", "audio_s", "windows_classified")}
        out.append(data)
    return out


def test_classify_a_path_or_an_array(angry) -> None:
    path, x = angry
    by_path = api.classify(path)
    assert by_path.label == "angry" and 0 < by_path.confidence <= 1 and set(by_path.scores) == set(by_path.scores)
    assert api.classify(x) == by_path  # default rate: the model's
    at_48k = api.classify(resample(x, RATE, 48000), sample_rate=48000)
    assert at_48k.label == "angry"
    assert api.classify(path, model=load_bundle(default_bundle_path())).label == "angry"
    with pytest.raises(AudioError, match="too short"):
        api.classify(np.zeros(100, np.float32))


def test_iter_events_is_the_same_for_a_file_an_array_and_an_iterable(angry, tmp_path: Path) -> None:
    path, x = angry
    padded = np.concatenate([np.zeros(RATE, np.float32), x, np.zeros(RATE, np.float32)])
    wav = write_wav(tmp_path / "a.wav", padded)
    from_file = list(api.iter_events(str(wav), device="proto"))
    from_array = list(api.iter_events(padded, device="proto"))
    from_blocks = list(api.iter_events((padded[i: i + 512] for i in range(0, len(padded), 512)), device="proto"))
    assert strip(from_file) == strip(from_array) == strip(from_blocks)
    types = [e.type for e in from_file]
    assert types[0] == "speech_start" and "emotion" in types and types[-2:] == ["speech_end", "status"]
    emotion = next(e for e in from_file if isinstance(e, EmotionEvent))
    assert emotion.label == "angry" and emotion.device == "proto" and 1.0 <= emotion.start_s < emotion.end_s


def test_iter_events_resamples_and_takes_settings(angry) -> None:
    _, x = angry
    at_44k = resample(x, RATE, 44100)
    events = list(api.iter_events(at_44k, sample_rate=44100, status_interval_s=1.0))
    assert [e.audio_s for e in events if e.type == "status"][:3] == [1.0, 2.0, 3.0]
    strict = SmoothingSettings(threshold=1.0)
    assert not [e for e in api.iter_events(x, smoothing=strict) if e.type == "emotion"]


def test_listen_calls_back_for_every_event(angry) -> None:
    _, x = angry
    seen: list[Event] = []
    api.listen(x, on_event=seen.append)
    assert strip(seen) == strip(list(api.iter_events(x)))


def test_sources_are_recognised() -> None:
    assert isinstance(api.as_source("microphone", RATE), MicrophoneSource)
    assert isinstance(api.as_source("clip.wav", RATE), FileSource)
    mic = api.microphone("USB", device_rate=48000)
    assert isinstance(mic, MicrophoneSource) and mic.device == "USB" and mic.sample_rate == RATE
    with pytest.raises(AudioError, match="no such file"):
        list(api.iter_events("/nonexistent/clip.wav"))

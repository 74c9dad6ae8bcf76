"""Arousal and valence reach every output: emotion events (and their JSON), the pipeline's
decisions, clip results, `ser-edge classify` (text and --json), `ser-edge listen` and the Python API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ser_edge import api
from ser_edge.audio.read import load_audio
from ser_edge.cli import main
from ser_edge.events import EmotionEvent, EventFactory, event_from_dict, event_from_json
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.recognizer import Recognizer
from ser_edge.model.circumplex import DEFAULT_PLACEMENT, affect

from .test_circumplex import copy_default, relabel_without_placement

ANGRY = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"
SAD = "ravdess/Actor_01/03-01-04-02-01-01-01.flac"
SCORES = {"neutral": 0.1, "happy": 0.2, "angry": 0.7}


@pytest.fixture
def factory() -> EventFactory:
    return EventFactory(model_id="m", model_sha256="ab" * 32, device="pi", clock=lambda: 1.7e9)


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()  # the shipped default model, real int8 interpreter


def test_emotion_events_carry_rounded_arousal_and_valence_in_json(factory: EventFactory) -> None:
    event = factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2,
                            arousal=0.612345, valence=-0.40004)
    assert (event.arousal, event.valence) == (0.612, -0.4)
    data = json.loads(event.to_json())
    assert (data["arousal"], data["valence"]) == (0.612, -0.4)
    assert event_from_json(event.to_json()) == event


def test_an_event_without_a_placement_says_null_and_old_json_still_parses(factory: EventFactory) -> None:
    event = factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2)
    data = event.to_dict()
    assert data["arousal"] is None and data["valence"] is None
    del data["arousal"], data["valence"]  # a line written before the fields existed
    assert event_from_dict(data) == event


@pytest.mark.parametrize("field, value", [("arousal", 1.01), ("valence", -1.2), ("arousal", float("nan"))])
def test_arousal_or_valence_outside_the_unit_range_is_refused(factory: EventFactory, field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2, **{field: value})


def test_pipeline_events_carry_the_affect_of_their_smoothed_scores(recognizer: Recognizer, data_dir: Path) -> None:
    events = list(api.iter_events(data_dir / ANGRY))
    emotions = [e for e in events if isinstance(e, EmotionEvent)]
    assert emotions
    for event in emotions:
        expected = affect(event.scores, DEFAULT_PLACEMENT)  # the event's scores are the smoothed ones, rounded
        assert event.arousal == pytest.approx(expected["arousal"], abs=2e-3)
        assert event.valence == pytest.approx(expected["valence"], abs=2e-3)
    assert all(e.arousal > 0 for e in emotions)  # an angry (strong) clip is heard as aroused


def test_a_bundle_without_a_placement_gives_null_affect(tmp_path: Path, data_dir: Path) -> None:
    copy = copy_default(tmp_path, relabel_without_placement)  # calm: no default place
    result = Recognizer(copy).classify_file(data_dir / ANGRY)
    assert result.arousal is None and result.valence is None
    pipeline = Pipeline(copy)
    events = pipeline.push(load_audio(data_dir / ANGRY)) + pipeline.finish()
    emotions = [e for e in events if isinstance(e, EmotionEvent)]
    assert emotions and all(e.arousal is None and e.valence is None for e in emotions)


def test_clip_results_carry_the_affect_of_the_mean_scores(recognizer: Recognizer, data_dir: Path) -> None:
    result = recognizer.classify_file(data_dir / ANGRY)
    assert (result.arousal, result.valence) == tuple(affect(result.scores, DEFAULT_PLACEMENT)[k]
                                                     for k in ("arousal", "valence"))
    data = result.to_dict()
    assert (data["arousal"], data["valence"]) == (result.arousal, result.valence)
    sad = recognizer.classify_file(data_dir / SAD)
    assert -1 <= sad.arousal <= 1 and -1 <= sad.valence <= 1


def test_classify_prints_arousal_and_valence_in_text_and_json(data_dir: Path, recognizer: Recognizer) -> None:
    path = data_dir / ANGRY
    expected = recognizer.classify_file(path)
    as_json = CliRunner().invoke(main, ["classify", "--json", str(path)])
    assert as_json.exit_code == 0, as_json.output
    line = json.loads(as_json.output.strip().splitlines()[-1])
    assert (line["arousal"], line["valence"]) == (expected.arousal, expected.valence)
    text = CliRunner().invoke(main, ["classify", str(path)])
    assert text.exit_code == 0, text.output
    file_line = next(line for line in text.output.splitlines() if "\tarousal " in line)  # then its utterances
    fields = file_line.split("\t")
    assert fields[-1] == f"arousal {expected.arousal:+.2f} valence {expected.valence:+.2f}"


def test_the_python_api_result_has_arousal_and_valence(data_dir: Path) -> None:
    result = api.classify(data_dir / ANGRY)
    assert isinstance(result.arousal, float) and isinstance(result.valence, float)


def test_listen_by_name_prints_emotion_lines_with_arousal_and_valence(data_dir: Path) -> None:
    cli = [sys.executable, "-c", "from ser_edge.cli import main; main()", "listen", "-q"]
    done = subprocess.run(cli + ["--model", "default", "--from-wav", str(data_dir / ANGRY)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    emotions = [line for line in lines if line["type"] == "emotion"]
    assert emotions and all(isinstance(e["arousal"], float) and isinstance(e["valence"], float) for e in emotions)
    refused = subprocess.run(cli + ["--model", "9class", "--from-wav", str(data_dir / ANGRY)],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 78 and "9class: no model bundle there and no shipped bundle" in refused.stderr


def test_the_live_view_shows_the_decisions_arousal_and_valence(factory: EventFactory) -> None:
    import io

    from ser_edge.service.show import LiveView

    view = LiveView(["neutral", "happy", "angry"], stream=io.StringIO(), ansi=False)
    view.on_event(factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2,
                                  arousal=0.61, valence=-0.2))
    assert view.render(object())[-1] == "decision  ANGRY 0.70 (0.0-2.0 s)  arousal +0.61 valence -0.20"
    view.on_event(factory.emotion(label="angry", confidence=0.7, scores=SCORES, start_s=0, end_s=2))
    assert view.render(object())[-1] == "decision  ANGRY 0.70 (0.0-2.0 s)"

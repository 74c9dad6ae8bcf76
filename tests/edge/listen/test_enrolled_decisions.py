"""The personal head in the decisions, on real speech (EMOVO speaker f3, whose sentences hold 3 to 5 s
of speech): a file's decision and each utterance's in classify, and the listener's utterance events.
Two clips a label of four labels enrolled; the speaker's third clip of each label is decided."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser_edge.audio.read import load_audio
from ser_edge.config.settings import SmoothingSettings
from ser_edge.listen.enrolment import Enrolment
from ser_edge.listen.filescore import FileScorer
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.recognizer import Recognizer
from ser_edge.listen.utterances import UtteranceDecider

EMOVO = {"neutral": "neu", "happy": "gio", "sad": "tri", "angry": "rab"}
EVERY = SmoothingSettings(threshold=0.0, min_duration_s=0.0, hold_s=0.0)


def clip(data_dir: Path, label: str, n: int) -> Path:
    return data_dir / "emovo" / "f3" / f"{EMOVO[label]}-f3-l{n}.flac"


def enrolled(recognizer: Recognizer, data_dir: Path) -> Recognizer:
    for label in EMOVO:
        for n in (1, 2):
            recognizer.enrol(label, load_audio(clip(data_dir, label, n)))
    assert recognizer.enrolment.active
    return recognizer


def true_scores(results: dict) -> np.ndarray:
    return np.array([results[label].scores[label] for label in EMOVO])


def test_the_file_decision_moves_toward_the_enrolled_label_of_a_new_clip(data_dir):
    recognizer = Recognizer()
    before = {label: recognizer.classify_file(clip(data_dir, label, 3)) for label in EMOVO}
    enrolled(recognizer, data_dir)
    after = {label: recognizer.classify_file(clip(data_dir, label, 3)) for label in EMOVO}
    gained = true_scores(after) - true_scores(before)
    assert gained.sum() > 0.5 and (gained > 0).sum() >= 3, gained  # (measured: 3 of 4 up, angry down, v2 and v3)
    right = {label for label in EMOVO if before[label].label == label}
    assert all(after[label].label == label for label in right)  # what it got right, it still gets right
    recognizer.enrolment.reset()
    again = recognizer.classify_file(clip(data_dir, "sad", 3))
    assert again.scores == before["sad"].scores  # undone: the bundle's own decision, to the bit


def test_keeping_the_files_frames_changes_no_score(tiny_fusion_bundle, data_dir):
    recognizer = Recognizer(tiny_fusion_bundle)
    x = load_audio(clip(data_dir, "happy", 3))

    def scores(keep: bool):
        adapter = recognizer.new_adapter()
        decider = UtteranceDecider.for_adapter(recognizer.bundle.utterance, recognizer.params, adapter)
        scorer = FileScorer(recognizer.params, recognizer.classifier.scores_many, adapter=adapter, utterances=decider,
                            keep=keep)
        for i in range(0, x.size, 4000):
            scorer.push(x[i: i + 4000])
        return scorer.finish(), adapter

    (plain, a), (kept, b) = scores(False), scores(True)
    assert plain.vector is None and kept.vector is not None and kept.vector.shape == (a.segments.mean.size,)
    np.testing.assert_array_equal(plain.mean, kept.mean)
    assert [d.scores.tolist() for d in plain.utterances] == [d.scores.tolist() for d in kept.utterances]
    np.testing.assert_array_equal(a.segments.mean, b.segments.mean)  # the speaker's statistics learnt alike
    np.testing.assert_array_equal(a.norm().mean, b.norm().mean)


def test_each_utterance_and_the_file_pass_through_the_head(tiny_fusion_bundle, data_dir):
    recognizer = Recognizer(tiny_fusion_bundle)
    before = {label: recognizer.classify_file(clip(data_dir, label, 3)) for label in EMOVO}
    enrolled(recognizer, data_dir)
    after = {label: recognizer.classify_file(clip(data_dir, label, 3)) for label in EMOVO}
    assert all(r.scope == "utterance" and r.utterances for r in after.values())
    assert (true_scores(after) - true_scores(before)).sum() > 0.5
    moved = [u.scores[label] - v.scores[label] for label in EMOVO
             for u, v in zip(after[label].utterances, before[label].utterances)]
    assert len(moved) >= 4 and sum(moved) > 0.5 and all(abs(m) > 1e-6 for m in moved)  # every utterance moved


def test_the_listeners_utterance_events_pass_through_the_head(tiny_fusion_bundle, data_dir):
    recognizer = enrolled(Recognizer(tiny_fusion_bundle), data_dir)
    gap = np.zeros(24000, dtype=np.float32)
    parts = [(label, load_audio(clip(data_dir, label, 3))) for label in EMOVO]
    audio = np.concatenate([piece for _, x in parts for piece in (x, gap)])
    ends = np.cumsum([(x.size + gap.size) / 16000 for _, x in parts])  # s: where each clip's gap ends

    def events(enrolment):
        pipeline = Pipeline(recognizer.bundle, smoothing=EVERY, status_interval_s=0)
        pipeline.enrolment = enrolment
        out = [e for i in range(0, audio.size, 3200) for e in pipeline.push(audio[i: i + 3200])] + pipeline.finish()
        return [e for e in out if e.type == "emotion" and e.scope == "utterance"]

    plain, personal = events(None), events(recognizer.enrolment)
    assert len(plain) == len(personal) >= 4
    assert [(e.start_s, e.end_s) for e in plain] == [(e.start_s, e.end_s) for e in personal]
    labels = [parts[int(np.searchsorted(ends, e.start_s, side="right"))][0] for e in plain]
    gained = [b.scores[label] - a.scores[label] for label, a, b in zip(labels, plain, personal)]
    assert sum(gained) > 0.5 and all(abs(g) > 1e-6 for g in gained), gained
    empty = events(Enrolment(recognizer.labels, recognizer.bundle.sha256))  # nothing enrolled: the bundle's own
    assert [e.scores for e in empty] == [e.scores for e in plain]

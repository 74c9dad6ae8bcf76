"""The device's speaker statistics: the adapted pipeline is block-size invariant, learns only
voiced hops, carries adapted_s; the bundle check covers the prior; frozen and off modes;
classify per file or shared; old bundles' events have no adaptation field."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.errors import BundleError, ConfigError
from ser_edge.events import EventFactory, event_from_dict
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.normalise import batch_stats, voiced
from ser_edge.frontend.vad import VoiceGate
from ser_edge.listen.adapter import Adapter
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.recognizer import Recognizer
from ser_edge.model.bundle import MANIFEST_FILE, load_bundle, manifest_digest
from tests.edge.speaker_bundle import make_speaker_bundle

CLIPS = ("ravdess/Actor_17/03-01-05-02-01-01-17.flac", "ravdess/Actor_17/03-01-01-01-01-01-17.flac",
         "ravdess/Actor_17/03-01-04-02-02-01-17.flac")


@pytest.fixture(scope="module")
def bundle_dir(data_dir: Path, tmp_path_factory) -> Path:
    return make_speaker_bundle(tmp_path_factory.mktemp("speaker") / "bundle", data_dir)


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> np.ndarray:
    """Three clips of one speaker with a second of silence between: ~12 s."""
    gap = np.zeros(16000, np.float32)
    return np.concatenate([part for c in CLIPS for part in (load_audio(data_dir / c, 16000), gap)])


def _events(bundle_dir: Path, x: np.ndarray, sizes, adapter=None):
    factory = EventFactory(model_id="t", model_sha256="ab" * 32, device="t", clock=lambda: 1.7e9)
    pipeline = Pipeline(bundle_dir, events=factory, clock=lambda: 0.0, status_interval_s=0, adapter=adapter)
    out, i, cycle = [], 0, itertools.cycle(sizes)
    while i < x.size:
        n = next(cycle)
        out += pipeline.push(x[i:i + n])
        i += n
    out += pipeline.finish()
    status = [e for e in out if e.type == "status"]
    assert status and status[-1].extra["adapted_s"] == round(pipeline.adapter.speech_s, 1)
    return [{k: v for k, v in e.to_dict().items() if k not in ("time", "uptime_s")} for e in out
            if e.type != "status"], pipeline


def test_adapted_pipeline_does_not_depend_on_block_size(bundle_dir: Path, speech: np.ndarray):
    runs = [_events(bundle_dir, speech, sizes) for sizes in ([160], [4096], [0, 1, 7, 333, 4095, 2, 16000])]
    assert runs[0][0] == runs[1][0] == runs[2][0]
    emotions = [e for e in runs[0][0] if e["type"] == "emotion"]
    assert emotions and all(e["adapted_s"] > 0 for e in emotions)
    assert event_from_dict({**emotions[-1], "time": "2026-01-01T00:00:00Z"}).adapted_s == emotions[-1]["adapted_s"]
    assert runs[0][1].finish() == [] and runs[0][1].adapter.speech_s > emotions[-1]["adapted_s"]
    stats = [r[1].adapter.stats for r in runs]
    for other in stats[1:]:
        np.testing.assert_array_equal(other.mean, stats[0].mean)  # bit for bit


def test_the_pipeline_learns_the_voiced_hops_only(bundle_dir: Path, speech: np.ndarray):
    _, pipeline = _events(bundle_dir, speech, [1600])
    params = pipeline.params
    frames, flags = MfccExtractor(params)(speech), VoiceGate.from_params(params).push(speech)
    h = params.window_hop_frames
    learnt = (min(len(frames), len(flags)) // h) * h  # whole segments only
    reference = batch_stats(params, pipeline.adapter.prior, [voiced(frames[:learnt], flags[:learnt])])
    np.testing.assert_allclose(pipeline.adapter.stats.mean, reference.mean, rtol=1e-9)
    np.testing.assert_allclose(pipeline.adapter.stats.var, reference.var, rtol=1e-8)
    assert 0 < pipeline.adapter.stats.heard_s < 0.9 * speech.size / 16000  # the silences are left out


def test_frozen_and_off_do_not_learn(bundle_dir: Path, speech: np.ndarray):
    bundle = load_bundle(bundle_dir)
    for mode in ("frozen", "off"):
        adapter = Adapter(bundle.params, bundle.prior, mode)
        events, _ = _events(bundle_dir, speech, [1600], adapter=adapter)
        assert adapter.stats.heard_s == 0.0 and not adapter.dirty
        np.testing.assert_allclose(adapter.stats.mean, bundle.prior.mean, rtol=1e-12)
        assert all(e["adapted_s"] == 0.0 for e in events if e["type"] == "emotion")
    with pytest.raises(ConfigError, match="adaptation"):
        Adapter(bundle.params, bundle.prior, "sometimes")


def test_classify_per_file_or_shared(bundle_dir: Path, data_dir: Path):
    recognizer = Recognizer(bundle_dir)
    files = [data_dir / c for c in CLIPS]
    alone = [recognizer.classify_file(f) for f in files]
    again = [recognizer.classify_file(f) for f in files]
    assert [r.scores for r in alone] == [r.scores for r in again]  # per file: no memory between calls
    shared = recognizer.new_adapter()
    together = [recognizer.classify_file(f, adapter=shared) for f in files]
    assert together[0].scores == alone[0].scores
    assert together[2].adapted_s > together[1].adapted_s > together[0].adapted_s == alone[0].adapted_s
    assert shared.stats.heard_s == pytest.approx(sum(r.adapted_s for r in alone), rel=0.05)
    assert "adapted_s" in together[0].to_dict()
    from ser_edge import api

    listed = api.classify(files, model=load_bundle(bundle_dir), statistics="shared")
    assert [r.scores for r in listed] == [r.scores for r in together]


def test_bundle_check_covers_the_prior(bundle_dir: Path, tmp_path: Path):
    import shutil

    def broken(change) -> Path:
        folder = tmp_path / f"b{len(list(tmp_path.iterdir()))}"
        shutil.copytree(bundle_dir, folder)
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        change(manifest)
        manifest["manifest_sha256"] = manifest_digest(manifest)  # consistent, so the prior check is reached
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
        return folder

    cases = [(lambda m: m["normalisation"]["statistics"]["var"].__setitem__(3, 0.0), "var must be > 0"),
             (lambda m: m["normalisation"]["statistics"]["mean"].pop(), "30 numbers"),
             (lambda m: m["normalisation"]["statistics"].__setitem__("mean", ["x"] * 30), "30 numbers"),
             (lambda m: m["normalisation"].__setitem__("statistics", None), "prior must be an object"),
             (lambda m: m["normalisation"].__setitem__("kind", "window_cmvn"), "normalisation.kind"),
             (lambda m: m["normalisation"]["adaptation"].__setitem__("prior_s", 99.0), "does not match")]
    for change, message in cases:
        with pytest.raises(BundleError, match=message):
            load_bundle(broken(change))
    assert load_bundle(bundle_dir).prior.mean.shape == (30,)


def test_clip_scores_of_a_speaker_model_do_not_depend_on_block_size(bundle_dir: Path, speech: np.ndarray):
    from ser_edge.listen.filescore import FileScorer

    recognizer = Recognizer(bundle_dir)
    results = []
    for sizes in ([160], [16000], [0, 7, 4095, 333, 1]):
        adapter = recognizer.new_adapter()
        scorer = FileScorer(recognizer.params, recognizer.classifier.scores_many, adapter=adapter)
        i, cycle = 0, itertools.cycle(sizes)
        while i < speech.size:
            n = next(cycle)
            scorer.push(speech[i:i + n])
            i += n
        clip = scorer.finish()
        results.append((clip.mean.tolist(), clip.windows, adapter.stats.mean.tobytes(), adapter.stats.heard_s))
    assert results[0] == results[1] == results[2]

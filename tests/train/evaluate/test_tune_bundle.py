"""`ser-train tune` (and its old spelling `ser-convert tune`) on real held-out speech: figures reported,
thresholds written and used."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ser_edge.model.bundle import load_bundle
from ser_edge.model.shipped import default_bundle_path

TRAIN = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
CONVERT = "import sys; from ser_convert.cli import main; sys.argv = ['ser-convert', *sys.argv[1:]]; main()"


def test_tune_writes_thresholds_that_the_bundle_then_carries(data_dir: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(default_bundle_path(), tmp_path / "bundle"))
    proc = subprocess.run([sys.executable, "-c", TRAIN, "tune", str(bundle), str(data_dir / "ravdess"),
                           "--speakers", "ravdess:17", "--write", "--json", str(tmp_path / "tune.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "false" in proc.stdout and "/min of neutral speech" in proc.stdout and "chosen:" in proc.stdout
    result = json.loads((tmp_path / "tune.json").read_text())
    assert result["clips"] == 60 and result["speakers"] == ["ravdess:17"]
    assert min(result["thresholds"].values()) >= 0.5  # tuning only raises thresholds
    assert result["tuned"]["false_per_min"] <= max(result["max_false_per_min"], result["default"]["false_per_min"])
    written = load_bundle(bundle)  # re-stamped: it loads
    assert written.thresholds == result["thresholds"]
    assert set(written.thresholds) == set(written.labels) - {"neutral"}
    events = written.manifest["metrics"]["events"]
    assert events["speakers"] == ["ravdess:17"] and "noise_events_per_min" in events["tuned"]


def test_the_old_spelling_names_speakers_it_cannot_find(data_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", CONVERT, "tune", str(default_bundle_path()), str(data_dir / "ravdess"),
                           "--speakers", "ravdess:17,emovo:m9"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "no clips of emovo:m9" in proc.stderr and "Traceback" not in proc.stderr


def test_a_bundle_with_an_utterance_head_is_tuned_on_its_utterance_decisions(tiny_fusion_bundle, data_dir: Path):
    """Each utterance is one recorded decision; thresholds decide which of them become events."""
    from ser_edge.config.settings import SmoothingSettings
    from ser_edge.model.classifier import Classifier
    from ser_train.evaluate.tune import replay, speaker_stream

    classifier = Classifier(load_bundle(tiny_fusion_bundle))
    clips = sorted((data_dir / "ravdess" / "Actor_05").glob("03-01-0[1-5]-01-01-01-05.flac"))
    rec = speaker_stream(classifier, [(p, "neutral") for p in clips])
    # a 2 s gap ends each clip's utterance: at most one decision a clip (none for one too short to decide)
    assert rec.utterances is not None and 3 <= len(rec.utterances) <= len(clips)
    ends = [end for _, end in rec.utterances]
    assert all(any(a <= end <= b + 1.0 for _, a, b in rec.spans) for end in ends)
    labels = classifier.labels
    everything = replay(rec, labels, SmoothingSettings(thresholds={k: 0.0 for k in labels}))
    assert [end for _, end in everything] == [end for _, end in rec.utterances]
    assert replay(rec, labels, SmoothingSettings(threshold=1.0)) == []

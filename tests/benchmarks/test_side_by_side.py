"""benchmarks/side_by_side.py's device worker on real clips, in its own process as the script runs it.

Only the device side: the notebook side needs the librosa + Keras baseline trained (minutes).
The worker must run every shipped kind of bundle, and a speaker-normalised one as the device
does: each held-out speaker's clips in one stream of statistics, which `ser-edge classify
--shared-stats` on that speaker's files (in the same order) must agree with.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ser_edge.cli import main
from ser_edge.model.bundle import load_bundle
from ser_edge.model.load import bundle_path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
OLD_BUNDLE = REPO / "tests" / "edge" / "old_bundles" / "window-cmvn-v1"

sys.path.insert(0, str(BENCH))  # the script imports its neighbours (side_by_side_device, notebook_baseline)
spec = importlib.util.spec_from_file_location("side_by_side", BENCH / "side_by_side.py")
side_by_side = importlib.util.module_from_spec(spec)
spec.loader.exec_module(side_by_side)
import side_by_side_clips  # noqa: E402  (from BENCH, just put on sys.path)


def _held_out(data_dir: Path, bundle: Path, per_speaker: int) -> list:
    manifest = load_bundle(bundle).manifest
    speakers = set(manifest["metrics"]["held_out_speakers"])
    clips = side_by_side_clips.labelled_clips(data_dir, manifest["labels"], speakers)
    return side_by_side_clips.held_out_order([(str(c.path), y, c.speaker) for c, y in clips if c.speaker in speakers],
                                       per_speaker)


def _run_device(tmp_path: Path, monkeypatch, bundle: Path, test: list) -> dict:
    monkeypatch.setenv(side_by_side.SPAWN_ENV, "0")  # run_worker sets it; restored after the test
    job = {"bundle": str(bundle), "clips": [p for p, _, _ in test], "speakers": [s for _, _, s in test]}
    return side_by_side.run_worker("device", job, tmp_path)


def _classify(files: list, bundle: Path, *flags: str) -> list[dict]:
    result = CliRunner().invoke(main, ["classify", "--json", "-m", str(bundle), *flags, *files])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_held_out_clips_come_from_every_corpus_the_manifest_names(data_dir: Path) -> None:
    test = _held_out(data_dir, bundle_path("default"), 2)
    assert {s for _, _, s in test} == {"emovo:f3", "emovo:m3", "ravdess:15", "ravdess:16", "turev:1984", "nemo:KS0"}
    assert [s for _, _, s in test] == sorted(s for _, _, s in test)  # grouped by speaker
    assert all(len([t for t in test if t[2] == s]) == 2 for _, _, s in test)
    whole = _held_out(data_dir, bundle_path("default"), 0)
    assert len(whole) == load_bundle(bundle_path("default")).manifest["metrics"]["float"]["n"] == 824  # held-out clips
    ravdess_15 = [p for p, _, s in whole if s == "ravdess:15"]
    assert ravdess_15 != sorted(ravdess_15)  # shuffled: not all of one emotion first
    assert ravdess_15 == [p for p, _, s in _held_out(data_dir, bundle_path("default"), 0) if s == "ravdess:15"]


def test_device_worker_streams_each_speakers_statistics(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    bundle = bundle_path("default")  # speaker_cmvn
    test = [(str(f), 0, speaker) for speaker, folder in (("emovo:f3", "emovo/f3"), ("ravdess:16", "ravdess/Actor_16"))
            for f in sorted((data_dir / folder).glob("*.*"))[5:60:20]]  # 3 files each, of different emotions
    out = _run_device(tmp_path, monkeypatch, bundle, test)
    assert out["per_clip_ms"]["n"] == 6 and out["peak_rss_mb"] > 0
    for key in ("windows_streaming", "windows_scratch"):
        assert out[key]["total"]["n"] > 0 and out[key]["total"]["p50"] > 0
    assert out["windows_streaming"]["normalise"]["p50"] > 0  # the adapter's update + normalise, timed
    adapted = out["adapted_s"]
    assert adapted[0] < adapted[1] < adapted[2] and adapted[3] < adapted[2] and adapted[3] < adapted[4] < adapted[5]
    labels = load_bundle(bundle).labels
    for speaker in ("emovo:f3", "ravdess:16"):  # what `classify --shared-stats` says of the speaker's files
        mine = [i for i, t in enumerate(test) if t[2] == speaker]
        device = _classify([test[i][0] for i in mine], bundle, "--shared-stats")
        assert [labels[out["predicted"][i]] for i in mine] == [d["label"] for d in device]
        assert [round(out["adapted_s"][i], 1) for i in mine] == [d["adapted_s"] for d in device]


def test_device_worker_runs_a_window_normalised_bundle(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    test = _held_out(data_dir, OLD_BUNDLE, 1)
    assert {s for _, _, s in test} == {"ravdess:17", "ravdess:18", "ravdess:19", "ravdess:20"}
    out = _run_device(tmp_path, monkeypatch, OLD_BUNDLE, test)
    assert out["adapted_s"] == [None] * 4 and out["windows_scratch"]["total"]["n"] > 0
    labels = load_bundle(OLD_BUNDLE).labels
    device = _classify([p for p, _, _ in test], OLD_BUNDLE)
    assert [labels[i] for i in out["predicted"]] == [d["label"] for d in device]


def test_max_clips_is_per_speaker(monkeypatch) -> None:
    test = [(f"{s}/{k}.wav", 0, s) for s in ("b", "a") for k in range(5)]
    picked = side_by_side_clips.held_out_order(test, 2)
    assert [s for _, _, s in picked] == ["a", "a", "b", "b"]
    assert side_by_side_clips.held_out_order(test, 2) == picked  # the same clips every time
    monkeypatch.setattr(sys, "argv", ["side_by_side.py", "--max-clips", "-1"])
    with pytest.raises(SystemExit) as exc:
        side_by_side.main()
    assert exc.value.code == 2  # argparse's usage error, before any work

"""`ser-edge bench`: the multiply-accumulate count against hand counts, and the command's report.

No timing assertions: speed targets are checked by benchmarks that print figures
(benchmarks/side_by_side.py, benchmarks/scaling.py), not by timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ser_edge.bench.macs import count_from_details, count_macs, op_macs
from ser_edge.bench.processes import run_ser_edge
from ser_edge.bench.run import format_report, percentiles, pick_clips
from ser_edge.cli import main
from ser_edge.errors import SerEdgeError
from ser_edge.model.bundle import load_bundle
from ser_edge.model.interpreter import make_interpreter
from ser_edge.model.shipped import default_bundle_path


def _tensor(index: int, shape: list[int]) -> dict:
    return {"index": index, "shape": np.array(shape, dtype=np.int32)}


def test_op_macs_by_hand():
    # conv: 148 x 48 outputs, each 5 taps x 30 channels
    assert op_macs("CONV_2D", [[1, 1, 148, 30], [48, 1, 5, 30], [48]], [1, 1, 148, 48]) == 148 * 48 * 5 * 30
    assert op_macs("DEPTHWISE_CONV_2D", [[1, 10, 10, 8], [1, 3, 3, 8]], [1, 10, 10, 8]) == 10 * 10 * 8 * 9
    assert op_macs("FULLY_CONNECTED", [[1, 112], [7, 112], [7]], [1, 7]) == 7 * 112
    assert op_macs("BATCH_MATMUL", [[1, 4, 6], [1, 6, 5]], [1, 4, 5]) == 4 * 5 * 6
    assert op_macs("MAX_POOL_2D", [[1, 1, 148, 48]], [1, 1, 74, 48]) == 0


def test_delegate_nodes_are_not_counted_twice_and_other_ops_are_listed():
    tensors = [_tensor(0, [1, 1, 20, 4]), _tensor(1, [8, 1, 3, 4]), _tensor(2, [8]), _tensor(3, [1, 1, 20, 8]),
               _tensor(4, [1, 8]), _tensor(5, [3, 8]), _tensor(6, [1, 3])]
    ops = [{"op_name": "CONV_2D", "inputs": np.array([0, 1, 2]), "outputs": np.array([3])},
           {"op_name": "MEAN", "inputs": np.array([3]), "outputs": np.array([4])},
           {"op_name": "FULLY_CONNECTED", "inputs": np.array([4, 5, -1]), "outputs": np.array([6])},
           {"op_name": "DELEGATE", "inputs": np.array([0, 1, 2, 5]), "outputs": np.array([6])}]
    count = count_from_details(ops, tensors)
    assert count.total == 20 * 8 * 3 * 4 + 3 * 8
    assert [o.op for o in count.ops] == ["CONV_2D", "FULLY_CONNECTED"]
    assert count.uncounted == {"MEAN": 1}
    assert "DELEGATE nodes skipped" in count.to_dict()["method"]


def _hand_count(manifest: dict, model: dict) -> int:
    """The ser_train Conv1D: 'same' convs of `kernel` taps, MaxPool(2) between blocks, mean (+max) pooling, dense."""
    from ser_train.config import ModelConfig

    config = ModelConfig(**model)
    _, frames, channels = manifest["input"]["shape"]
    total = 0
    for i, width in enumerate(config.block_widths()):
        total += frames * width * config.kernel * channels
        frames, channels = (frames // 2 if i < config.depth - 1 else frames), width
    pooled = channels * (2 if config.pooling == "mean+max" else 1)
    return total + pooled * len(manifest["labels"])


def test_count_macs_on_a_real_int8_model_matches_the_hand_count(tiny_run: Path, tiny_bundle: Path):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    model = json.loads((tiny_run / "config.json").read_text())["model"]
    interpreter, _ = make_interpreter(str(tiny_bundle / "model.tflite"))
    count = count_macs(interpreter)
    assert count.total == _hand_count(manifest, model)
    assert sum(o.op == "CONV_2D" for o in count.ops) == model["depth"]


def test_percentiles_of_nothing_and_of_something():
    assert percentiles([])["p50"] is None
    stats = percentiles([1.0, 2.0, 3.0, 4.0])
    assert stats["n"] == 4 and stats["p50"] == 2.5 and stats["mean"] == 2.5


@pytest.mark.data
def test_clips_come_from_the_held_out_speakers(data_dir: Path):
    bundle = load_bundle(default_bundle_path())
    held_out = {s.split(":")[1] for s in bundle.manifest["metrics"]["held_out_speakers"] if s.startswith("ravdess:")}
    clips = pick_clips(data_dir, bundle, 5)
    assert len(clips) == 5 and len(set(clips)) == 5
    assert {c.parent.name.split("_")[1] for c in clips} <= held_out


def test_missing_data_folder_is_one_clear_line(tmp_path: Path):
    result = CliRunner().invoke(main, ["bench", "--data", str(tmp_path / "nowhere"), "--clips", "1"])
    assert result.exit_code == 78
    assert "nowhere" in result.output and "--data" in result.output and "Traceback" not in result.output


def test_a_failing_benchmark_process_is_one_line_naming_the_command(tmp_path: Path):
    with pytest.raises(SerEdgeError, match=r"ser-edge classify .*missing\.wav failed \(exit 1\)"):
        run_ser_edge(["classify", str(tmp_path / "missing.wav")])


def test_peak_rss_is_the_child_s_own_not_inherited_from_a_bigger_parent():
    ballast = np.ones(200_000_000 // 8)  # 200 MB here: ru_maxrss of a child would start above it
    run = run_ser_edge(["--version"])
    assert ballast.sum() > 0 and run.peak_rss_mb < 150


@pytest.mark.data
@pytest.mark.slow
def test_bench_json_has_every_figure(data_dir: Path):
    proc = subprocess.run([sys.executable, "-m", "ser_edge", "bench", "--json", "--clips", "3", "--data", str(data_dir),
                           "--realtime-seconds", "2", "--prosody"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    for part in ("features", "prosody", "inference", "total", "total_cpu"):
        assert set(report["per_window_ms"][part]) >= {"p50", "p95", "p99"}
    assert report["data"]["clips"] == 3
    assert report["model"]["file_bytes"] > 0 and report["model"]["macs"]["total"] > 0
    assert report["pipeline"]["rtf_overall"] > 0
    assert set(report["peak_rss_mb"]) == {"bench_process", "classify", "listen"}
    assert report["startup"]["classify_first_s"] is not None
    assert report["realtime_cpu"]["percent_of_one_core"] is not None
    assert {"load_1m", "cpu", "cores"} <= set(report["machine_before"])
    assert report["adaptation_us"]["p50"] > 0 and report["adaptation_us"]["adaptive_model"] is True  # the default adapts
    assert "per window" in format_report(report) and "speaker statistics" in format_report(report)
    assert "prosody (F0, voicing, energy, spectrum)" in format_report(report)  # --prosody: timed, as it would cost


OLD_BUNDLE = Path(__file__).resolve().parents[1] / "old_bundles" / "window-cmvn-v1"


@pytest.mark.data
def test_prosody_is_timed_per_window_when_asked(data_dir: Path):
    from ser_edge.audio.read import load_audio
    from ser_edge.bench.run import window_timings
    from ser_edge.model.load import load_classifier

    classifier = load_classifier(OLD_BUNDLE)  # a bundle without prosody
    clips = [load_audio(p, 16000) for p in pick_clips(data_dir, load_classifier(default_bundle_path()).bundle, 2)]
    plain = window_timings(clips, classifier)
    assert "prosody" not in plain  # not timed unless asked
    timed = window_timings(clips, classifier, prosody=True)
    assert timed["prosody"]["n"] == timed["total"]["n"] > 0 and timed["prosody"]["p50"] > 0
    assert timed["prosody"]["model_uses_it"] is False
    assert timed["total"]["p50"] >= timed["prosody"]["p50"]
    own = window_timings(clips, load_classifier(default_bundle_path()))  # the default's front end has prosody
    assert own["prosody"]["model_uses_it"] is True and own["prosody"]["n"] == own["total"]["n"] > 0


def test_adaptation_cost_of_a_speaker_model(data_dir: Path, tmp_path: Path):
    from ser_edge.bench.adaptcost import adaptation_cost
    from ser_edge.frontend.mfcc import MfccExtractor
    from ser_edge.model.bundle import load_bundle
    from tests.edge.speaker_bundle import make_speaker_bundle

    bundle = load_bundle(make_speaker_bundle(tmp_path / "b", data_dir))
    cost = adaptation_cost(bundle, MfccExtractor(bundle.params)(np.zeros(48000, np.float32)), repeats=50)
    assert cost["adaptive_model"] and cost["n"] == 50 and 0 < cost["p50"] < 50_000

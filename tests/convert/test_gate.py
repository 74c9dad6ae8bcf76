"""The class gate: a bundle whose model has given up on a class is not written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ser_convert.gate import bundle_gates, class_gate, gate_failures

CONVERT = "import sys; from ser_convert.cli import main; sys.argv = ['ser-convert', *sys.argv[1:]]; main()"


def _report(uar: float, **recalls) -> dict:
    return {"uar": uar, "per_class_recall": recalls}


def test_the_floor_is_half_the_uar_and_at_least_chance():
    gate = class_gate(_report(0.6, neutral=0.25, happy=0.9, sad=0.7, angry=0.55))
    assert gate.floor == pytest.approx(0.3) and gate.below == {"neutral": 0.25} and not gate.passed
    assert "'neutral' has recall 0.250" in gate.failures()[0]
    weak = class_gate(_report(0.3, neutral=0.2, happy=0.3, sad=0.4, angry=0.3))  # half the UAR < chance 0.25
    assert weak.floor == pytest.approx(0.25) and weak.below == {"neutral": 0.2}
    assert class_gate(_report(0.5, neutral=0.5, happy=0.5, sad=0.5, angry=0.5)).passed


def test_a_bundle_with_a_head_is_judged_on_its_windows_too():
    """4class v3's first build: its utterances recalled every class, its windows happy 15 %, which
    `scope = "window"` would have shipped; both kinds of decision must pass."""
    fine = _report(0.60, neutral=0.58, happy=0.51, sad=0.60, angry=0.71)
    windows = _report(0.56, neutral=0.63, happy=0.15, sad=0.56, angry=0.89)
    gates = bundle_gates(windows, fine)
    assert list(gates) == ["utterances", "windows"] and gates["utterances"].passed and not gates["windows"].passed
    (failure,) = gate_failures(gates)
    assert failure.startswith("windows decisions: class 'happy' has recall 0.150") and "floor 0.280" in failure
    assert list(bundle_gates(windows)) == ["windows"] and gate_failures(bundle_gates(fine, fine)) == []


def test_a_class_the_speakers_lack_is_unchecked_not_failed():
    gate = class_gate(_report(0.5, neutral=0.5, happy=None, sad=0.5))
    assert gate.passed and gate.unchecked == ("happy",) and gate.to_dict()["unchecked"] == ["happy"]


@pytest.fixture(scope="module")
def collapsed_run(tiny_run, tmp_path_factory):
    """The tiny run with its output layer's bias pushed to "sad": it says sad whatever it hears."""
    import shutil

    import keras

    run = tmp_path_factory.mktemp("collapsed") / "run"
    shutil.copytree(tiny_run, run)
    model = keras.models.load_model(run / "model.keras", compile=False)
    kernel, bias = model.get_layer("logits").get_weights()
    bias[:] = -20.0
    bias[2] = 20.0  # "sad"
    model.get_layer("logits").set_weights([kernel * 0.0, bias])
    model.save(run / "model.keras")
    return run


def test_ser_convert_refuses_a_collapsed_model_and_names_the_classes(collapsed_run, tmp_path):
    out = tmp_path / "bundle"
    proc = subprocess.run([sys.executable, "-c", CONVERT, str(collapsed_run), "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    for label in ("neutral", "happy", "angry", "fearful", "disgust", "surprised"):
        assert f"class '{label}' has recall 0.000" in proc.stderr
    assert "'sad'" not in proc.stderr  # the one class it says is recalled whole
    assert not out.exists() and not list(tmp_path.glob(".bundle.*"))


def test_an_existing_bundle_is_left_as_it_was_when_the_gate_refuses(collapsed_run, tiny_bundle, tmp_path):
    import shutil

    from ser_convert.convert import GateError, convert_run

    out = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(GateError, match="not written to"):
        convert_run(collapsed_run, out, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_manifest_records_the_gate(tiny_bundle):
    gate = json.loads((tiny_bundle / "manifest.json").read_text())["metrics"]["gate"]
    assert set(gate) == {"passed", "floor", "below", "unchecked"} and gate["floor"] >= 1 / 7


def test_the_card_says_whether_a_bundle_passes_the_gate(tmp_path):
    """Shipped bundles pass (a bundle that does not is not written any more); a bundle made before the
    gate whose held-out neutral recall is 0.7 % (as the 4class bundle's was) has it said on its card."""
    import shutil

    from ser_convert.card import render_card
    from ser_convert.manifest import write_manifest
    from ser_edge.model.shipped import default_bundle_path

    assert "Class gate: passed" in render_card(default_bundle_path())
    old = Path(shutil.copytree(default_bundle_path(), tmp_path / "old"))
    manifest = json.loads((old / "manifest.json").read_text())
    judged = manifest["metrics"].get("utterance", manifest["metrics"])  # a fusion bundle is judged by its utterances
    judged["int8"]["per_class_recall"]["neutral"] = 0.0075
    manifest["metrics"].pop("gate", None)
    write_manifest(old, manifest)
    card = render_card(old)
    assert "Class gate: **failed**" in card and "neutral 0.8 %" in card


def test_a_bundle_with_an_utterance_head_is_judged_by_its_utterance_decisions(tiny_fusion_bundle):
    """What the device decides of a clip is the utterance head's decision: the gate reads that report."""
    metrics = json.loads((tiny_fusion_bundle / "manifest.json").read_text())["metrics"]
    assert metrics["gate"] == class_gate(metrics["utterance"]["int8"]).to_dict()


def test_a_bundle_with_an_utterance_head_records_its_window_gate(tiny_fusion_bundle, tmp_path):
    import shutil

    from ser_convert.card import render_card
    from ser_convert.manifest import write_manifest

    metrics = json.loads((tiny_fusion_bundle / "manifest.json").read_text())["metrics"]
    assert metrics["window_gate"] == class_gate(metrics["int8"]).to_dict()
    bundle = Path(shutil.copytree(tiny_fusion_bundle, tmp_path / "bundle"))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["metrics"]["utterance"]["int8"]["per_class_recall"] = {k: 0.5 for k in manifest["labels"]}
    manifest["metrics"]["utterance"]["int8"]["uar"] = 0.5
    manifest["metrics"]["int8"]["per_class_recall"] = {k: 0.5 for k in manifest["labels"]} | {"happy": 0.01}
    manifest["metrics"]["int8"]["uar"] = 0.43
    write_manifest(bundle, manifest)
    card = render_card(bundle)
    assert "Class gate: passed" in card
    assert "Class gate on the window decisions (`scope = \"window\"`): **failed**" in card and "happy 1.0 %" in card

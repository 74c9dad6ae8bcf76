"""`ser-convert` on a tiny trained model: int8 tensors, manifest, checksum, tamper checks, parity."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ser_edge.errors import BundleError
from ser_edge.listen.recognizer import Recognizer
from ser_edge.model.bundle import load_bundle, manifest_digest
from ser_edge.model.classifier import Classifier


def test_model_is_full_int8(tiny_bundle):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    for role in ("input", "output"):
        assert manifest[role]["dtype"] == "int8" and manifest[role]["scale"] > 0
    assert manifest["input"]["shape"] == [1, 148, 30] and manifest["output"]["shape"] == [1, 7]
    assert set(manifest["model"]["ops"]) <= {"CONV_2D", "DELEGATE", "EXPAND_DIMS", "FULLY_CONNECTED", "MAX_POOL_2D",
                                            "MEAN", "RESHAPE", "SOFTMAX", "QUANTIZE", "DEQUANTIZE"} - {"DEQUANTIZE"}
    classifier = Classifier(load_bundle(tiny_bundle))
    assert classifier._in["dtype"] == np.int8 and classifier._out["dtype"] == np.int8


def test_manifest_fields(tiny_bundle):
    m = json.loads((tiny_bundle / "manifest.json").read_text())
    assert m["schema_version"] == 1 and len(m["model"]["sha256"]) == 64
    assert m["labels"] == ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
    assert m["feature_params"]["sample_rate"] == 16000 and len(m["feature_params_hash"]) == 16
    assert m["normalisation"] == {"kind": "window_cmvn", "scope": "per window", "statistics": None}
    assert m["training_data"]["train"]["speakers"] == ["ravdess:01", "ravdess:02"]
    assert "CC BY-NC-SA 4.0" in m["licence"]["training_data"]["ravdess"]
    assert "Non-commercial" in m["licence"]["model_use"]
    metrics = m["metrics"]
    assert metrics["held_out_speakers"] == ["ravdess:04"] and metrics["held_out_part"] == "test"
    assert {"float", "int8", "top1_agreement", "parity_passed"} <= set(metrics)


def test_float_and_int8_agree_on_real_clips(tiny_bundle):
    m = json.loads((tiny_bundle / "manifest.json").read_text())["metrics"]
    # a 2-epoch 8-filter model is not the shipped one; its quantization must still be faithful
    assert m["top1_agreement"] >= 0.9
    assert abs(m["float"]["uar"] - m["int8"]["uar"]) <= 0.1


def _copy(bundle, tmp_path):
    return shutil.copytree(bundle, tmp_path / "bundle")


def test_tampered_model_is_rejected(tiny_bundle, tmp_path):
    copy = _copy(tiny_bundle, tmp_path)
    data = bytearray((copy / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model.tflite does not match the manifest's sha256"):
        Recognizer(copy)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(labels=m["labels"][:-1], circumplex={k: m["circumplex"][k] for k in m["labels"][:-1]}),
         r"model output shape \[1, 7\] does not match"),
        (lambda m: m["input"].update(scale=m["input"]["scale"] * 2), "model input quantization"),
        (lambda m: m["feature_params"].update(n_mfcc=20), "feature_params_hash .* does not match"),
        (lambda m: m.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda m: m["feature_params"].update(dither=1), r"unknown feature parameter\(s\) dither"),
        (lambda m: m.pop("labels"), "manifest lacks labels"),
    ],
)
def test_tampered_manifest_is_rejected(tiny_bundle, tmp_path, change, message):
    copy = _copy(tiny_bundle, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    change(manifest)
    manifest["manifest_sha256"] = manifest_digest(manifest)  # a forger who re-stamps: the deeper checks hold
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message) as err:
        Recognizer(copy)
    assert str(copy) in str(err.value)


def test_the_manifest_is_stamped_and_an_edit_is_refused(tiny_bundle, tmp_path):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert manifest["manifest_sha256"] == manifest_digest(manifest)
    copy = _copy(tiny_bundle, tmp_path)
    labels = manifest["labels"]
    labels[0], labels[1] = labels[1], labels[0]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest.json does not match its manifest_sha256"):
        load_bundle(copy)


def test_missing_and_broken_bundles(tmp_path):
    with pytest.raises(BundleError, match="no model bundle there"):
        load_bundle(tmp_path / "nothing")
    (tmp_path / "b").mkdir()
    with pytest.raises(BundleError, match="manifest.json is missing"):
        load_bundle(tmp_path / "b")
    (tmp_path / "b" / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not a readable JSON manifest"):
        load_bundle(tmp_path / "b")

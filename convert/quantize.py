"""Keras model -> full-integer TFLite: int8 weights, activations, input and output."""

from __future__ import annotations

import os
import tempfile
from typing import Iterator

import numpy as np


def representative_windows(windows: np.ndarray, count: int = 500, seed: int = 0) -> np.ndarray:
    """A random subset of training windows, (min(count, n), frames, coeffs) float32."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(windows), size=min(count, len(windows)), replace=False)
    return np.asarray(windows[np.sort(pick)], dtype=np.float32)


def to_int8_tflite(model, representative: np.ndarray) -> bytes:
    """Convert with post-training full-integer quantization calibrated on ``representative``.

    Keras 3 models go through a SavedModel export, the path the TFLite converter
    supports for them. Only TFLITE_BUILTINS_INT8 ops are allowed, so a model with
    an op that cannot be quantized fails here rather than on the device.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    def calibration() -> Iterator[list[np.ndarray]]:
        for window in representative:
            yield [window[None].astype(np.float32)]

    with tempfile.TemporaryDirectory(prefix="ser-convert-") as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        return converter.convert()


def tensor_details(model_bytes: bytes) -> tuple[dict, dict, list[str]]:
    """(input, output, op names) of a TFLite model, read from the interpreter itself."""
    from ser_edge.model.interpreter import interpreter_class

    cls, _ = interpreter_class()
    interp = cls(model_content=model_bytes)
    interp.allocate_tensors()

    def describe(d: dict) -> dict:
        scale, zero = d["quantization"]
        return {"shape": [int(x) for x in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
                "scale": float(scale), "zero_point": int(zero)}

    # DELEGATE is the interpreter's own XNNPACK node, not an op of the model file
    ops = sorted({op["op_name"] for op in interp._get_ops_details()} - {"DELEGATE"})
    return describe(interp.get_input_details()[0]), describe(interp.get_output_details()[0]), ops

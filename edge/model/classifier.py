"""Int8 inference on classification windows through the TFLite interpreter.

Quantization (scale, zero point) is read from the interpreter, never assumed, and
checked against the manifest when the classifier is built.
"""

from __future__ import annotations

import numpy as np

from ser_edge.errors import BundleError

from .bundle import Bundle
from .interpreter import make_interpreter


class Classifier:
    """Scores for normalised windows of shape (window_frames, n_mfcc), float32."""

    def __init__(self, bundle: Bundle, *, num_threads: int = 1, prefer: str | None = None):
        self.bundle = bundle
        self.labels = bundle.labels
        self._interp, self.backend = make_interpreter(str(bundle.model_path), num_threads=num_threads, prefer=prefer)
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        self._in_scale, self._in_zero = _quant(self._in)
        self._out_scale, self._out_zero = _quant(self._out)
        _check_against_manifest(bundle, self._in, self._out)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self._in["shape"])

    def quantize(self, window: np.ndarray) -> np.ndarray:
        """float32 (frames, coeffs) -> the input tensor's dtype, with a batch axis."""
        if self._in["dtype"] == np.float32:
            return window[None].astype(np.float32)
        info = np.iinfo(self._in["dtype"])
        q = np.round(window / self._in_scale + self._in_zero)
        return np.clip(q, info.min, info.max).astype(self._in["dtype"])[None]

    def scores(self, window: np.ndarray) -> np.ndarray:
        """One window -> class probabilities (n_classes,) float32, in label order."""
        expected = self.input_shape[1:]
        if window.shape != expected:
            raise ValueError(f"window shape {window.shape} does not match the model input {expected}")
        return self.dequantize(self.invoke(self.quantize(window)))

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """The model on one input tensor as `quantize` makes it ((1, frames, coeffs), the input
        dtype) -> its raw output (n_classes,) in the output dtype (int8 for a full-int8 model)."""
        self._interp.set_tensor(self._in["index"], tensor)
        self._interp.invoke()
        return np.array(self._interp.get_tensor(self._out["index"])[0])

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        """Raw output (n_classes,) -> class probabilities, float32, with the output's scale and zero point."""
        if self._out["dtype"] == np.float32:
            return raw.astype(np.float32)
        return ((raw.astype(np.float32) - self._out_zero) * self._out_scale).astype(np.float32)

    def scores_many(self, windows: np.ndarray) -> np.ndarray:
        """(n, frames, coeffs) -> (n, n_classes) float32."""
        out = np.zeros((len(windows), len(self.labels)), dtype=np.float32)
        for i, window in enumerate(windows):
            out[i] = self.scores(window)
        return out


def _quant(detail: dict) -> tuple[float, int]:
    scale, zero = detail.get("quantization", (0.0, 0))
    return float(scale), int(zero)


def _check_against_manifest(bundle: Bundle, inp: dict, out: dict) -> None:
    """Shapes, dtypes and quantization of the model file must be what the manifest says."""
    name = str(bundle.path)
    p = bundle.params
    for role, detail, want_shape in (
        ("input", inp, [1, p.window_frames, p.n_mfcc]),
        ("output", out, [1, len(bundle.labels)]),
    ):
        declared = bundle.manifest[role]
        actual_shape = [int(d) for d in detail["shape"]]
        if actual_shape != want_shape or list(declared.get("shape", [])) != actual_shape:
            raise BundleError(
                f"{name}: model {role} shape {actual_shape} does not match the manifest "
                f"({declared.get('shape')}) and its parameters/labels ({want_shape})"
            )
        dtype = np.dtype(detail["dtype"]).name
        if declared.get("dtype") != dtype:
            raise BundleError(f"{name}: model {role} dtype {dtype} does not match the manifest ({declared.get('dtype')})")
        scale, zero = _quant(detail)
        if dtype != "float32" and (
            not np.isclose(scale, float(declared.get("scale", -1)), rtol=1e-6) or zero != int(declared.get("zero_point", 10**6))
        ):
            raise BundleError(
                f"{name}: model {role} quantization (scale {scale:g}, zero point {zero}) does not match the manifest "
                f"(scale {declared.get('scale')}, zero point {declared.get('zero_point')})"
            )

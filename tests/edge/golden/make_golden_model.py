"""Regenerate the golden model scores: after a shipped model is retrained (or added).

    python tests/edge/golden/make_golden_model.py      (`make model` runs it too)

For every shipped bundle (models/<name>/), writes model_<name>.json here: the bundle's
sha256 and feature-parameter hash, the int8 input tensor that the front end makes of a
generated 1.5 s window (`golden_window`, no RNG, no data files), and the int8 scores the
interpreter gives for it. tests/edge/model/test_golden_model.py checks all three, in the
TFLite Micro micro_speech way.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import numpy as np

from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.windows import normalise_window
from ser_edge.listen.adapter import for_bundle
from ser_edge.model.classifier import Classifier
from ser_edge.model.load import load_classifier
from ser_edge.model.shipped import shipped_bundles

HERE = Path(__file__).parent


def golden_window(params: FeatureParams) -> np.ndarray:
    """One classification window of audio, (params.window_samples,) float32 at params.sample_rate:
    a voice-like harmonic tone whose pitch and loudness move as an utterance's do, two bursts
    of hiss-like partials, a pause; deterministic (no RNG)."""
    rate, n = params.sample_rate, params.window_samples
    t = np.arange(n) / rate
    f0 = 140.0 + 60.0 * np.sin(2 * np.pi * 0.7 * t) + 40.0 * t  # Hz
    phase = 2 * np.pi * np.cumsum(f0) / rate
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t) ** 2  # ~3 syllables a second
    pause = (t < 0.8) | (t > 1.0)
    voice = sum((0.3 / k) * np.sin(k * phase + 0.3 * k) for k in range(1, 16)) * syllables * pause
    hiss = sum(0.02 * np.sin(2 * np.pi * f * t + f) for f in (2900.0, 3700.0, 4300.0, 5100.0, 6200.0))
    bursts = ((t > 0.35) & (t < 0.45)) | ((t > 1.2) & (t < 1.27))
    return (voice + hiss * bursts).astype(np.float32)


def input_tensor(classifier: Classifier) -> np.ndarray:
    """The golden window through the front end and the input quantization: (1, frames, coeffs).
    A speaker-normalised bundle normalises it as a device's first window: with its prior alone."""
    params = classifier.bundle.params
    frames = MfccExtractor(params)(golden_window(params))[: params.window_frames]
    adapter = for_bundle(classifier.bundle)  # as the device starts: fresh from the prior
    return classifier.quantize(normalise_window(frames, params, adapter.norm() if adapter else None))


def encode(tensor: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(tensor).tobytes()).decode("ascii")


def decode(text: str, dtype: str, shape: list[int]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).reshape(shape)


def golden(name: str) -> dict:
    classifier = load_classifier(shipped_bundles()[name])
    bundle = classifier.bundle
    tensor = input_tensor(classifier)
    raw = classifier.invoke(tensor)
    return {
        "bundle": name, "model_id": bundle.model_id, "model_sha256": bundle.sha256,
        "feature_params_hash": bundle.params.stable_hash(), "labels": list(bundle.labels),
        "input": {"dtype": tensor.dtype.name, "shape": list(tensor.shape),
                  "sha256": hashlib.sha256(tensor.tobytes()).hexdigest(), "base64": encode(tensor)},
        "output": {"dtype": raw.dtype.name, "raw": [int(v) for v in raw],
                   "scores": [round(float(v), 6) for v in classifier.dequantize(raw)]},
    }


def main() -> None:
    for name in list(shipped_bundles()):
        record = golden(name)
        path = HERE / f"model_{name}.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        top = int(np.argmax(record["output"]["raw"]))
        print(f"wrote {path.name}: {record['model_id']}, raw scores {record['output']['raw']} "
              f"(top {record['labels'][top]})")


if __name__ == "__main__":
    main()

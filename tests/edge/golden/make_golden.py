"""Regenerate the golden features: ONLY when the front end is meant to change.

    python tests/edge/golden/make_golden.py

Then bump FRONT_END_VERSION in edge/params.py if the maths changed, and say why in
the commit: every trained model depends on these numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams

HERE = Path(__file__).parent


def golden_signal() -> np.ndarray:
    """1.0 s at 16 kHz, float32: a gliding harmonic tone, a burst and a click; no RNG."""
    t = np.arange(16000) / 16000.0
    f0 = 120.0 + 80.0 * t  # Hz, rising like a question
    phase = 2 * np.pi * np.cumsum(f0) / 16000.0
    voice = sum((0.25 / k) * np.sin(k * phase) for k in range(1, 12))
    burst = 0.1 * np.sin(2 * np.pi * 3500.0 * t) * ((t > 0.6) & (t < 0.7))
    click = np.where(np.arange(16000) == 12000, 0.9, 0.0)
    return (voice + burst + click).astype(np.float32)


def main() -> None:
    params = FeatureParams()
    features = MfccExtractor(params)(golden_signal())
    np.save(HERE / "mfcc_default.npy", features)
    (HERE / "mfcc_default.json").write_text(
        json.dumps({"params": params.to_dict(), "hash": params.stable_hash(), "shape": list(features.shape)}, indent=2) + "\n"
    )
    print(f"wrote {features.shape} features, params hash {params.stable_hash()}")


if __name__ == "__main__":
    main()

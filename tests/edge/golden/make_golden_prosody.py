"""Regenerate the golden prosody rows: ONLY when the tracker is meant to change.

    python -m tests.edge.golden.make_golden_prosody      (from the repository root)

Then say why in the commit: every model trained with prosody on depends on these numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import PROSODY_COLUMNS, ProsodyExtractor
from tests.edge.golden.make_golden import golden_signal

HERE = Path(__file__).parent


def golden_prosody_signal() -> np.ndarray:
    """1.6 s at 16 kHz, float32, no RNG: the MFCC golden signal (a harmonic glide 120-200 Hz, a
    3.5 kHz burst, a click), a child-like 480 Hz harmonic tone for 0.3 s, then 0.3 s of silence."""
    t = np.arange(4800) / 16000.0
    high = sum((0.2 / k) * np.sin(2 * np.pi * 480.0 * k * t) for k in range(1, 6))
    return np.concatenate([golden_signal(), high.astype(np.float32), np.zeros(4800, np.float32)])


def main() -> None:
    params = FeatureParams(prosody=True)
    rows = ProsodyExtractor(params)(golden_prosody_signal())
    np.save(HERE / "prosody_default.npy", rows)
    (HERE / "prosody_default.json").write_text(json.dumps(
        {"params": params.to_dict(), "hash": params.stable_hash(), "columns": list(PROSODY_COLUMNS),
         "shape": list(rows.shape)}, indent=2) + "\n")
    print(f"wrote {rows.shape} prosody rows, params hash {params.stable_hash()}")


if __name__ == "__main__":
    main()

"""Golden features: any drift of the front end (maths or defaults) fails here.

If the change is intended, regenerate with tests/edge/golden/make_golden.py, bump
FRONT_END_VERSION when the maths changed, and retrain the shipped model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams

from ..golden.make_golden import golden_signal

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_default_parameters_unchanged():
    recorded = json.loads((GOLDEN / "mfcc_default.json").read_text())
    assert FeatureParams().to_dict() == recorded["params"]
    assert FeatureParams().stable_hash() == recorded["hash"]


def test_features_match_golden():
    expected = np.load(GOLDEN / "mfcc_default.npy")
    actual = MfccExtractor(FeatureParams())(golden_signal())
    assert actual.shape == expected.shape == (98, 30)
    # 1e-4 absolute: far above float32 rounding across CPUs/FFT backends (~1e-5 on
    # cepstra of magnitude ~50), far below any real change of the front end.
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-4)

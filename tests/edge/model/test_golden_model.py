"""Golden model scores, the TFLite Micro micro_speech way: a generated window (no data files)
through the front end, the input quantization, the interpreter wrapper and each shipped model
must give the int8 scores committed in tests/edge/golden/model_<name>.json.

After a shipped model is retrained (or one is added), regenerate the files with
`python tests/edge/golden/make_golden_model.py` (`make model` does) and commit them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ser_edge.model.load import load_classifier
from ser_edge.model.shipped import shipped_bundles

from ..golden.make_golden_model import decode, input_tensor

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
REGENERATE = "python tests/edge/golden/make_golden_model.py"


def test_every_shipped_bundle_has_golden_scores():
    assert list(shipped_bundles()), "no shipped bundle found under models/"
    missing = [name for name in list(shipped_bundles()) if not (GOLDEN / f"model_{name}.json").is_file()]
    assert not missing, f"no golden scores for {missing}: run {REGENERATE}"


@pytest.fixture(params=sorted(p.stem[len("model_"):] for p in GOLDEN.glob("model_*.json")))
def case(request):
    record = json.loads((GOLDEN / f"model_{request.param}.json").read_text())
    path = shipped_bundles().get(record["bundle"])
    assert path is not None, f"golden scores for {record['bundle']!r}, which is not shipped: delete or {REGENERATE}"
    classifier = load_classifier(path)
    assert classifier.bundle.sha256 == record["model_sha256"], (
        f"models/{record['bundle']} is not the model the golden scores were made with: if it was retrained on "
        f"purpose, run {REGENERATE}")
    return classifier, record


def test_the_recorded_input_gives_the_recorded_int8_scores(case):
    """Interpreter wrapper and model, bit for bit."""
    classifier, record = case
    tensor = decode(record["input"]["base64"], record["input"]["dtype"], record["input"]["shape"])
    raw = classifier.invoke(tensor)
    assert raw.dtype.name == record["output"]["dtype"]
    assert raw.tolist() == record["output"]["raw"]
    np.testing.assert_allclose(classifier.dequantize(raw), record["output"]["scores"], rtol=0, atol=1e-6)
    assert list(classifier.labels) == record["labels"]


def test_the_front_end_makes_the_recorded_input_and_scores(case):
    """Front end and input quantization: a float rounding on another CPU may move a cell by one
    step; anything more is a change of the features."""
    classifier, record = case
    assert classifier.bundle.params.stable_hash() == record["feature_params_hash"]
    expected = decode(record["input"]["base64"], record["input"]["dtype"], record["input"]["shape"])
    actual = input_tensor(classifier)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 0.01 * diff.size, (
        f"{np.count_nonzero(diff)} of {diff.size} input cells differ (most by {diff.max()})")
    raw = np.asarray(classifier.invoke(actual), dtype=np.int16)
    assert np.abs(raw - record["output"]["raw"]).max() <= 2
    assert int(np.argmax(raw)) == int(np.argmax(record["output"]["raw"]))

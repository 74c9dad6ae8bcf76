"""`--head fusion` on the device: the regression's standardisation folded into the manifest's
weights gives the training head's decisions, and a fusion run's bundle carries its head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the fusion head's regression needs the [train] extra (scikit-learn)")

from ser_train.data.clips import Clip  # noqa: E402
from ser_train.fit.functionals import ClipTable, FunctionalsModel  # noqa: E402
from ser_train.fit.utterance import DEVICE_HEAD_FILE, FusionHead, device_head, softmax  # noqa: E402


def table(classes: list[int], n: int = 60, d: int = 6, seed: int = 0) -> tuple[ClipTable, list[Clip]]:
    rng = np.random.default_rng(seed)
    y = np.array([classes[i % len(classes)] for i in range(n)])
    raw = rng.normal(size=(n, d)) * 3 + 10 + y[:, None]
    x = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    clips = [Clip(Path(f"{i}.wav"), "c", f"c:{i % 4}", "neutral") for i in range(n)]
    return ClipTable(np.arange(n), x, y, raw), clips


@pytest.mark.parametrize("classes", [[0, 1, 2, 3], [0, 2], [1, 2, 3]])
def test_the_device_head_decides_as_the_training_head(classes):
    train, clips = table(classes)
    fusion = FusionHead(FunctionalsModel(4, 0).fit(train, clips))
    device = device_head(fusion, train)
    windows = np.random.default_rng(1).dirichlet(np.ones(4), size=(5, 3))  # 5 clips of 3 windows
    for k in range(5):
        want = softmax((np.log(np.maximum(windows[k], fusion.floor)).mean(axis=0)
                        + np.log(np.maximum(fusion.model.scores(train.x[k:k + 1])[0], fusion.floor)))[None])[0]
        assert device.scores(windows[k], train.x[k]) == pytest.approx(want, abs=1e-5)
    assert device.prior_mean == pytest.approx(train.raw.mean(axis=0))


def test_a_fusion_run_and_its_bundle_carry_the_head(tiny_fusion_run, tiny_fusion_bundle):
    entry = json.loads((tiny_fusion_run / DEVICE_HEAD_FILE).read_text())
    manifest = json.loads((tiny_fusion_bundle / "manifest.json").read_text())
    assert manifest["utterance"]["weight"] == entry["weight"] and manifest["utterance"]["kind"] == "fusion"
    parity = manifest["metrics"]["utterance"]
    assert parity["clips"] > 0 and 0.0 <= parity["top1_agreement"] <= 1.0
    assert set(parity["int8"]["per_class_recall"]) == set(manifest["labels"])

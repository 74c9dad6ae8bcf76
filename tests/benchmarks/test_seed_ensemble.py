"""benchmarks/seed_ensemble.py on the tiny fusion run as the one fold of two "seeds": each seed's
clip decisions are ser-convert's, and an ensemble of identical seeds decides as each one does."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "seed_ensemble.py"
spec = importlib.util.spec_from_file_location("seed_ensemble", HERE)
seed_ensemble = importlib.util.module_from_spec(spec)
sys.modules.setdefault("seed_ensemble", seed_ensemble)
spec.loader.exec_module(seed_ensemble)


@pytest.fixture(scope="module")
def two_seeds(tiny_fusion_run: Path, tmp_path_factory) -> list[Path]:
    """Two cv folders, each with the tiny run as fold speaker-0; the second also has a fold the first lacks."""
    root = tmp_path_factory.mktemp("seeds")
    dirs = [root / "s0", root / "s1"]
    for d in dirs:
        shutil.copytree(tiny_fusion_run, d / "speaker-0")
        (d / "speaker-0" / "fold.json").write_text(json.dumps({"name": "speaker-0", "kind": "speaker"}))
    (dirs[1] / "speaker-1").mkdir()
    (dirs[1] / "speaker-1" / "fold.json").write_text(json.dumps({"name": "speaker-1", "kind": "speaker"}))
    return dirs


def test_identical_seeds_ensemble_to_the_same_decisions(two_seeds: list[Path], tiny_fusion_bundle: Path,
                                                         tmp_path: Path, capsys) -> None:
    out = tmp_path / "ensemble.json"
    assert seed_ensemble.main([str(d) for d in two_seeds] + ["--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [row["fold"] for row in result["folds"]] == ["speaker-0"]  # only the folds every seed finished
    row = result["folds"][0]
    converted = json.loads((tiny_fusion_bundle / "manifest.json").read_text())["metrics"]["utterance"]
    assert row["clips"] == converted["clips"]
    for seed in row["seeds"]:
        assert seed["uar"] == pytest.approx(converted["float"]["uar"])  # the device's decisions of the float model
    for metric in ("uar", "uar4", "arousal_bacc", "macro_f1"):
        assert row["ensemble"][metric] == pytest.approx(row["seed_mean"][metric])
    assert result["means"]["ensemble"]["uar"] == pytest.approx(row["ensemble"]["uar"])
    assert "| speaker-0 |" in capsys.readouterr().out


def test_it_needs_two_seeds_and_a_common_fold(two_seeds: list[Path], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        seed_ensemble.main([str(two_seeds[0])])
    assert exit_.value.code == 2
    (tmp_path / "empty").mkdir()
    assert seed_ensemble.main([str(two_seeds[0]), str(tmp_path / "empty")]) == 1

"""`ser-train eval --enrol-per-class K` on real audio: the shipped int8 bundle, one EMOVO speaker it
never trained on (emovo:f3 was a validation speaker), K clips per class enrolled in the device's
personal head, the others scored."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ser_train.evaluate.enrolled import draw_enrolment

REPO = Path(__file__).resolve().parents[3]


def _eval(*args):
    code = "import sys; from ser_train.cli import main; sys.argv = ['ser-train', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, "eval", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600)


def test_draw_enrolment_takes_k_per_class_and_leaves_one_to_score():
    y = np.array([0, 0, 0, 0, 1, 1, 2])
    chosen = draw_enrolment(y, 3, np.random.default_rng(0))
    assert chosen[y == 0].sum() == 3 and chosen[y == 1].sum() == 1 and chosen[y == 2].sum() == 0


@pytest.fixture(scope="module")
def emovo_f3(data_dir, tmp_path_factory) -> Path:
    """emovo/f3 alone (98 clips, 7 classes), as its own folder of links."""
    root = tmp_path_factory.mktemp("emovo_f3") / "emovo"
    (root / "f3").mkdir(parents=True)
    for clip in sorted((data_dir / "emovo" / "f3").glob("*.flac")):
        (root / "f3" / clip.name).symlink_to(clip)
    return root


def test_enrolled_figures_beside_cold_and_adapted(emovo_f3, tmp_path):
    cache = tmp_path / "cache"
    proc = _eval(str(REPO / "models" / "default"), str(emovo_f3), "--json", "--enrol-per-class", "3", "--cache", str(cache))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    enrolled = result["enrolled"]
    assert enrolled["k"] == 3 and enrolled["draws"] == 5 and enrolled["speakers"] == 1
    assert enrolled["n"] == result["adapted"]["n"] - 3 * 7  # 3 clips of each of the 7 classes enrolled
    assert set(enrolled["per_class_recall"]) == set(result["confusion"]["labels"])
    assert abs(enrolled["base_uar"] - result["adapted"]["uar"]) < 0.1  # the bundle alone on the clips left
    assert enrolled["uar"] > enrolled["base_uar"] + 0.05  # one acted speaker's own clips help a lot
    text = _eval(str(REPO / "models" / "default"), str(emovo_f3), "--enrol-per-class", "3", "--cache", str(cache))
    assert "enrolled K=3 per class" in text.stdout


def test_a_model_without_speaker_statistics_is_refused(emovo_f3, tmp_path):
    old = REPO / "tests" / "edge" / "old_bundles" / "window-cmvn-v1"
    proc = _eval(str(old), str(emovo_f3), "--enrol-per-class", "1", "--cache", str(tmp_path))
    assert proc.returncode != 0 and "speaker-normalised" in proc.stderr and "Traceback" not in proc.stderr

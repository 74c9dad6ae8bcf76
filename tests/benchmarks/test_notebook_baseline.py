"""benchmarks/notebook_baseline.py's feature cache: another model's clips are not computed twice."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("librosa", reason="the notebook baseline needs librosa")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # its pool's workers import it by name
import notebook_baseline  # noqa: E402


def test_rows_of_an_earlier_cache_are_reused_while_their_files_are_unchanged(data_dir: Path, tmp_path: Path,
                                                                            capsys) -> None:
    a, b, c = (tmp_path / f"{n}.flac" for n in "abc")
    for copy, clip in zip((a, b, c), sorted((data_dir / "ravdess" / "Actor_17").glob("*.flac"))[:3]):
        shutil.copyfile(clip, copy)  # copies in tmp_path: the test changes one's mtime
    cache = tmp_path / "cache"
    first = notebook_baseline.cached_features([a, b], cache, workers=1)
    second = notebook_baseline.cached_features([b, c], cache, workers=1)
    assert "features of 1 of 2 clips" in capsys.readouterr().out  # c only
    assert np.array_equal(second[0], first[1]) and np.allclose(second[1], notebook_baseline.file_features(str(c)))
    os.utime(b, ns=(1, 1))  # b changes: neither cache's key matches now
    notebook_baseline.cached_features([a, b, c], cache, workers=1)
    assert "features of 3 of 3 clips" in capsys.readouterr().out

"""Shared fixtures: where the corpora are, and skipping cleanly where they are not.

The corpora are never copied into the repo. Tests read them from ``../shared/data``
beside the checkout, or from the folder named by ``SER_EDGE_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"


def data_root() -> Path:
    """The corpora folder: $SER_EDGE_DATA, else ../shared/data beside the checkout."""
    return Path(os.environ.get("SER_EDGE_DATA", DEFAULT_DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The corpora folder; tests that need it skip, saying why, when it is absent."""
    root = data_root()
    if not (root / "ravdess").is_dir():
        pytest.skip(f"corpora not found at {root} (set SER_EDGE_DATA to the folder holding ravdess/ and tess/)")
    return root


@pytest.fixture(scope="session")
def quirks_dir(data_dir: Path) -> Path:
    return data_dir / "quirks"

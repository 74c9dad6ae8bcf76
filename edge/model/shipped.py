"""Where the shipped model bundles are: folders ``models/<name>/`` holding a manifest.json,
in the installed wheel (``ser_edge/models``) or beside ``edge/`` in a checkout. The default
model is $SER_EDGE_MODEL (a folder or a shipped name), else the bundle named "default"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ser_edge.errors import BundleError
from .bundle import MANIFEST_FILE

DEFAULT_NAME = "default"
ENV_MODEL = "SER_EDGE_MODEL"


def models_dirs() -> list[Path]:
    """The folders that may hold shipped bundles, in the order they are searched."""
    package = Path(__file__).resolve().parent.parent  # ser_edge/ (edge/ in a checkout)
    return [package / "models",  # installed wheel: ser_edge/models/<name>
            package.parent / "models"]  # source checkout: edge/ beside models/


def shipped_names() -> list[str]:
    """The names of the shipped bundles found (sorted, no duplicates)."""
    names = {p.name for d in models_dirs() if d.is_dir() for p in d.iterdir() if (p / MANIFEST_FILE).is_file()}
    return sorted(names)


def shipped_bundle_path(name: str) -> Optional[Path]:
    """The folder of the shipped bundle ``name``, or None if no such bundle is shipped."""
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        return None
    for folder in models_dirs():
        if (folder / name / MANIFEST_FILE).is_file():
            return folder / name
    return None


def default_bundle_path() -> Path:
    """$SER_EDGE_MODEL (a bundle folder or a shipped name), else the shipped "default" bundle;
    BundleError listing where it looked if none is found."""
    override = os.environ.get(ENV_MODEL)
    if override:
        path = Path(override)
        return path if path.exists() else (shipped_bundle_path(override) or path)
    found = shipped_bundle_path(DEFAULT_NAME)
    if found is None:
        raise BundleError("no default model found; looked in "
                          + ", ".join(str(d / DEFAULT_NAME) for d in models_dirs())
                          + f" (set {ENV_MODEL} or pass --model)")
    return found

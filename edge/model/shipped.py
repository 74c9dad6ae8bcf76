"""Where the default model bundle is: $SER_EDGE_MODEL, the installed wheel, or the checkout."""

from __future__ import annotations

import os
from pathlib import Path

from ser_edge.errors import BundleError

DEFAULT_NAME = "default"


def default_bundle_path() -> Path:
    """The default bundle folder; BundleError listing where it looked if none is found."""
    override = os.environ.get("SER_EDGE_MODEL")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parent.parent  # ser_edge/ (edge/ in a checkout)
    candidates = [
        package / "models" / DEFAULT_NAME,  # installed wheel: ser_edge/models/default
        package.parent / "models" / DEFAULT_NAME,  # source checkout: edge/ beside models/
    ]
    for path in candidates:
        if (path / "manifest.json").is_file():
            return path
    raise BundleError("no default model found; looked in " + ", ".join(str(c) for c in candidates)
                      + " (set SER_EDGE_MODEL or pass --model)")

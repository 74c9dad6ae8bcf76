"""Writing a bundle's manifest: stamped with ``manifest_sha256`` (the digest the device checks,
`ser_edge.model.bundle.manifest_digest`). The one writer, for the converter and threshold tuning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .bundle import MANIFEST_FILE, MANIFEST_HASH, manifest_digest


def stamped(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with ``manifest_sha256`` (last) set to the digest of everything else."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_HASH}
    return {**body, MANIFEST_HASH: manifest_digest(body)}


def write_manifest(bundle_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write ``bundle_dir/manifest.json``, stamped; returns what was written."""
    out = stamped(manifest)
    (Path(bundle_dir) / MANIFEST_FILE).write_text(json.dumps(out, indent=2) + "\n")
    return out

"""The bundle manifest: everything the device must know about a model, in one JSON file.

`build_manifest` makes it; `write_manifest` (`ser_edge.model.manifest_file`, the one writer) writes it
stamped with ``manifest_sha256``, which the device checks; `stamp_bundle` re-stamps an existing
bundle (one made before the field existed) without touching anything else.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from ser_edge import __version__
from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.params import FeatureParams
from ser_edge.model.bundle import MANIFEST_FILE, MANIFEST_HASH, MODEL_FILE, SCHEMA_VERSION, normalisation_block
from ser_edge.model.circumplex import FIELD as CIRCUMPLEX_FIELD
from ser_edge.model.circumplex import default_circumplex
from ser_edge.model.manifest_file import stamped, write_manifest  # noqa: F401  (the converter's writer)


def build_manifest(
    *, model_id: str, sha256: str, size_bytes: int, labels: list[str], params: FeatureParams,
    input_tensor: dict, output_tensor: dict, ops: list[str], training: dict, licence: dict[str, Any],
    metrics: dict | None = None,
    circumplex: dict[str, list[float]] | None = None,
    prior: Prior | None = None,
) -> dict[str, Any]:
    """A manifest dict for `ser_edge.model.bundle.load_bundle` (schema version `SCHEMA_VERSION`).

    ``circumplex``: label -> [valence, arousal] (`ser_edge.model.circumplex`); default: the
    built-in placement of these labels, left out if a label has none. ``prior``: the population
    prior of a speaker_cmvn model.
    """
    placement = circumplex if circumplex is not None else default_circumplex(labels)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {
            "id": model_id, "file": MODEL_FILE, "sha256": sha256, "size_bytes": size_bytes,
            "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "ser_edge_version": __version__, "ops": ops,
        },
        "labels": labels,
        **({CIRCUMPLEX_FIELD: placement} if placement is not None else {}),
        "feature_params": params.to_dict(),
        "feature_params_hash": params.stable_hash(),
        "normalisation": normalisation_block(params, prior),
        "input": input_tensor,
        "output": output_tensor,
        "training_data": training,
        "metrics": metrics or {},
        "licence": licence,
    }


def stamp_bundle(bundle_dir: Path | str) -> str:
    """Add (or renew) the ``manifest_sha256`` of an existing bundle's manifest; returns it.
    ``python -c "from ser_convert.manifest import stamp_bundle; stamp_bundle('models/default')"``"""
    path = Path(bundle_dir) / MANIFEST_FILE
    return write_manifest(Path(bundle_dir), json.loads(path.read_text(encoding="utf-8")))[MANIFEST_HASH]

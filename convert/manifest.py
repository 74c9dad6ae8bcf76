"""The bundle manifest: everything the device must know about a model, in one JSON file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ser_edge import __version__
from ser_edge.model.bundle import MODEL_FILE, SCHEMA_VERSION
from ser_edge.frontend.params import FeatureParams
from ser_train.licences import is_non_commercial, licence_of  # the one place corpus licences are kept


def licence_block(corpora: list[str]) -> dict[str, Any]:
    """The data licences a model trained on ``corpora`` inherits."""
    terms = {c: licence_of(c) for c in sorted(corpora)}
    non_commercial = any(is_non_commercial(t) for t in terms.values())
    note = ("Non-commercial use only: the training data is licensed non-commercially, and so is this model."
            if non_commercial else "Check the training corpora's terms before use.")
    return {"training_data": terms, "model_use": note}


def build_manifest(
    *, model_id: str, sha256: str, size_bytes: int, labels: list[str], params: FeatureParams,
    input_tensor: dict, output_tensor: dict, ops: list[str], training: dict, metrics: dict | None = None,
) -> dict[str, Any]:
    """A manifest dict for `ser_edge.model.bundle.load_bundle` (schema version `SCHEMA_VERSION`)."""
    corpora = sorted({c for part in ("train", "validation") for c in training.get(part, {}).get("corpora", {})})
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {
            "id": model_id, "file": MODEL_FILE, "sha256": sha256, "size_bytes": size_bytes,
            "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "ser_edge_version": __version__, "ops": ops,
        },
        "labels": labels,
        "feature_params": params.to_dict(),
        "feature_params_hash": params.stable_hash(),
        "normalisation": {"kind": params.normalisation, "scope": "per window", "statistics": None},
        "input": input_tensor,
        "output": output_tensor,
        "training_data": training,
        "metrics": metrics or {},
        "licence": licence_block(corpora),
    }

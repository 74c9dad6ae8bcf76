"""The bundle manifest: everything the device must know about a model, in one JSON file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ser_edge import __version__
from ser_edge.model.bundle import MODEL_FILE, SCHEMA_VERSION, normalisation_block
from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.params import FeatureParams

#: licences of the corpora a model may be trained on; a model inherits their terms
CORPUS_LICENCES = {
    "ravdess": "CC BY-NC-SA 4.0 (Livingstone & Russo 2018, doi:10.1371/journal.pone.0196391)",
    "tess": "CC BY-NC-ND 4.0 (Dupuis & Pichora-Fuller 2010, doi:10.5683/SP2/E8H2MF)",
    "cremad": "Open Database License (ODbL) 1.0",
    "savee": "free for research use (University of Surrey)",
    "emodb": "free for research use (TU Berlin)",
}


def licence_block(corpora: list[str]) -> dict[str, Any]:
    """The data licences a model trained on ``corpora`` inherits."""
    terms = {c: CORPUS_LICENCES.get(c, "unknown: check the corpus's own terms") for c in sorted(corpora)}
    non_commercial = any("NC" in t or "research" in t for t in terms.values())
    note = ("Non-commercial use only: the training data is licensed non-commercially, and so is this model."
            if non_commercial else "Check the training corpora's terms before use.")
    return {"training_data": terms, "model_use": note}


def build_manifest(
    *, model_id: str, sha256: str, size_bytes: int, labels: list[str], params: FeatureParams,
    input_tensor: dict, output_tensor: dict, ops: list[str], training: dict, metrics: dict | None = None,
    prior: Prior | None = None,
) -> dict[str, Any]:
    """A manifest dict for `ser_edge.model.bundle.load_bundle` (schema version `SCHEMA_VERSION`);
    ``prior``: the population prior of a speaker_cmvn model."""
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
        "normalisation": normalisation_block(params, prior),
        "input": input_tensor,
        "output": output_tensor,
        "training_data": training,
        "metrics": metrics or {},
        "licence": licence_block(corpora),
    }

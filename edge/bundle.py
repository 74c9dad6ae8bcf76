"""A model bundle: ``model.tflite`` + ``manifest.json``, checked before it is used.

The manifest is the contract between training and the device: labels in output
order, the full feature parameters and their hash, the normalisation, tensor
shapes and quantization, the model's sha256, training data, metrics and licence.
`load_bundle` refuses anything that does not match, naming the bundle and the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BundleError, ConfigError
from .params import FeatureParams

SCHEMA_VERSION = 1
MODEL_FILE = "model.tflite"
MANIFEST_FILE = "manifest.json"
REQUIRED = ("schema_version", "model", "labels", "feature_params", "feature_params_hash", "input", "output")


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: where it is, what it says."""

    path: Path
    manifest: dict[str, Any]
    params: FeatureParams
    labels: tuple[str, ...]

    @property
    def model_path(self) -> Path:
        return self.path / self.manifest["model"].get("file", MODEL_FILE)

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"].get("id", self.path.name))

    @property
    def sha256(self) -> str:
        return str(self.manifest["model"]["sha256"])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(bundle_dir: Path) -> dict[str, Any]:
    """The parsed manifest; BundleError naming the file when absent or not valid JSON."""
    path = Path(bundle_dir) / MANIFEST_FILE
    if not Path(bundle_dir).is_dir():
        raise BundleError(f"{bundle_dir}: no model bundle there (expected a folder with {MODEL_FILE} and {MANIFEST_FILE})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{bundle_dir}: {MANIFEST_FILE} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{path}: not a readable JSON manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: the manifest must be a JSON object")
    return manifest


def load_bundle(bundle_dir: Path | str, *, verify_checksum: bool = True) -> Bundle:
    """Read and check a bundle's manifest and model file (checksum, schema, parameters)."""
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    name = str(bundle_dir)
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise BundleError(f"{name}: manifest lacks {', '.join(missing)}")
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise BundleError(f"{name}: manifest schema_version {manifest['schema_version']!r} is not supported (this ser-edge reads {SCHEMA_VERSION})")
    try:
        params = FeatureParams.from_dict(manifest["feature_params"], source=f"{name}/{MANIFEST_FILE}")
    except ConfigError as exc:
        raise BundleError(str(exc)) from None
    if params.stable_hash() != manifest["feature_params_hash"]:
        raise BundleError(f"{name}: feature_params_hash {manifest['feature_params_hash']} does not match the parameters ({params.stable_hash()})")
    labels = manifest["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise BundleError(f"{name}: labels must be a non-empty list of names")
    bundle = Bundle(bundle_dir, manifest, params, tuple(labels))
    if not bundle.model_path.is_file():
        raise BundleError(f"{name}: model file {bundle.model_path.name} is missing")
    if verify_checksum and sha256_of(bundle.model_path) != bundle.sha256:
        raise BundleError(f"{name}: {bundle.model_path.name} does not match the manifest's sha256 (corrupt or replaced model)")
    return bundle

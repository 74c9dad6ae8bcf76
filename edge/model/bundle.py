"""A model bundle: ``model.tflite`` + ``manifest.json``, checked before it is used.

The manifest is the contract between training and the device: labels in output
order, the full feature parameters and their hash, the normalisation, tensor
shapes and quantization, the model's sha256, training data, metrics and licence.
`load_bundle` refuses anything that does not match, naming the bundle and the field.

The whole manifest is covered by ``manifest_sha256``: the sha256 of its canonical JSON
(`manifest_digest`: keys sorted, no spaces, UTF-8, that field left out), so that swapped
labels or edited parameters are refused like a replaced model. A manifest without the field
(written before it existed) still loads, with a warning; `ser_convert.manifest.stamp_bundle`
adds it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ser_edge.audio.wavfile import MAX_RATE, MIN_RATE
from ser_edge.config.versioned import sha256
from ser_edge.errors import BundleError, ConfigError, shown
from ser_edge.frontend.functionals import vector_dims
from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.params import FeatureParams
from ser_edge.smallfile import NotRegularFile, read_regular

from .circumplex import Point, read_circumplex
from .utterance import UtteranceHead, read_head

SCHEMA_VERSION = 1
MODEL_FILE = "model.tflite"
MANIFEST_FILE = "manifest.json"
#: plausibility limits on a manifest's parameters, so that a corrupt one cannot ask for huge buffers
MAX_FFT, MAX_WINDOW_MS = 1 << 16, 60_000.0
MAX_MANIFEST_BYTES = 1 << 20
MANIFEST_HASH = "manifest_sha256"
log = logging.getLogger(__name__)
REQUIRED = ("schema_version", "model", "labels", "feature_params", "feature_params_hash", "input", "output")


#: the manifest field of per-label decision thresholds (written by `ser-convert tune`)
THRESHOLDS_FIELD = "thresholds"


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

    @property
    def circumplex(self) -> Optional[dict[str, Point]]:
        """label -> (valence, arousal) in [-1, 1] (`ser_edge.model.circumplex`); None if not every label
        has a place (no manifest field and no built-in default)."""
        return read_circumplex(str(self.path), self.manifest, self.labels)

    @property
    def thresholds(self) -> dict[str, float]:
        """Per-label decision thresholds tuned for this model (manifest ``thresholds``; checked at
        load); empty for bundles without them. How a config combines with them:
        `ser_edge.config.settings.SmoothingSettings.smoother_kwargs`."""
        return {str(k): float(v) for k, v in (self.manifest.get(THRESHOLDS_FIELD) or {}).items()}

    @property
    def adaptive(self) -> bool:
        """True when windows are normalised with the speaker's statistics (``speaker_cmvn``)."""
        return self.params.normalisation == "speaker_cmvn"

    @property
    def utterance(self) -> Optional[UtteranceHead]:
        """The head that decides whole utterances (`ser_edge.model.utterance`; checked at load), or None."""
        return read_head(str(self.path), self.manifest, len(self.labels), vector_dims(self.params))

    @property
    def prior(self) -> Prior | None:
        """The population prior of a ``speaker_cmvn`` bundle (checked at load), else None."""
        if not self.adaptive:
            return None
        return Prior.from_dict(self.manifest["normalisation"]["statistics"], self.params.n_mfcc)


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 (hex) of the manifest's canonical JSON form without its ``manifest_sha256`` field.
    ValueError for what JSON cannot hold canonically (NaN, infinity)."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_HASH}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return sha256(text.encode("utf-8")).hexdigest()


def sha256_of(path: Path) -> str:
    digest = sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(bundle_dir: Path) -> dict[str, Any]:
    """The parsed manifest; BundleError naming the file when absent or not valid JSON."""
    path = Path(bundle_dir) / MANIFEST_FILE
    if not Path(bundle_dir).is_dir():
        raise BundleError(f"{shown(bundle_dir)}: no model bundle there (expected a folder with {MODEL_FILE} and {MANIFEST_FILE})")
    try:
        text = read_regular(path, MAX_MANIFEST_BYTES)  # a FIFO or a device is refused, never waited on
        if len(text) > MAX_MANIFEST_BYTES:
            raise BundleError(f"{shown(path)}: larger than {MAX_MANIFEST_BYTES} bytes; not a manifest")
        manifest = json.loads(text.decode("utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{shown(bundle_dir)}: {MANIFEST_FILE} is missing") from None
    except (NotRegularFile, IsADirectoryError) as exc:
        raise BundleError(f"{shown(path)}: {exc.strerror}, not a manifest file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"{shown(path)}: not a readable JSON manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{shown(path)}: the manifest must be a JSON object")
    return manifest


def load_bundle(bundle_dir: Path | str, *, verify_checksum: bool = True) -> Bundle:
    """Read and check a bundle's manifest and model file (checksum, schema, parameters)."""
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    name = shown(bundle_dir)
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise BundleError(f"{name}: manifest lacks {', '.join(missing)}")
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise BundleError(f"{name}: manifest schema_version {manifest['schema_version']!r} is not supported (this ser-edge reads {SCHEMA_VERSION})")
    _check_model_entry(name, manifest["model"])
    for role in ("input", "output"):
        _check_tensor_entry(name, role, manifest[role])
    params = _params(name, manifest)
    _check_normalisation(name, manifest, params)
    labels = manifest["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise BundleError(f"{name}: labels must be a non-empty list of names")
    if len(set(labels)) != len(labels):
        raise BundleError(f"{name}: labels must be unique, got {labels}")
    _check_manifest_hash(name, manifest)
    bundle = Bundle(bundle_dir, manifest, params, tuple(labels))
    read_circumplex(name, manifest, bundle.labels)  # a bad placement fails the load, not the first event
    _check_thresholds(name, manifest.get(THRESHOLDS_FIELD), bundle.labels)
    read_head(name, manifest, len(bundle.labels), vector_dims(params))  # a bad head fails the load
    if not bundle.model_path.is_file():
        raise BundleError(f"{name}: model file {bundle.model_path.name} is missing")
    if verify_checksum and _sha256_or_fail(bundle) != bundle.sha256.lower():
        raise BundleError(f"{name}: {bundle.model_path.name} does not match the manifest's sha256 "
                          "(corrupt or replaced model)")
    _check_flatbuffer(bundle)
    return bundle


def _check_thresholds(name: str, thresholds: Any, labels: tuple[str, ...]) -> None:
    """``thresholds``, if present: an object of the model's labels to numbers in [0, 1]."""
    if thresholds is None:
        return
    if not isinstance(thresholds, dict):
        raise BundleError(f"{name}: {THRESHOLDS_FIELD} must be an object of label -> number in [0, 1]")
    for label, value in thresholds.items():
        if label not in labels:
            raise BundleError(f"{name}: {THRESHOLDS_FIELD} names {label!r}, which is not a label of the model "
                              f"({', '.join(labels)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise BundleError(f"{name}: {THRESHOLDS_FIELD}[{label!r}] = {value!r} is invalid; allowed: a number in [0, 1]")


def _check_manifest_hash(name: str, manifest: dict[str, Any]) -> None:
    """The manifest matches its ``manifest_sha256`` (a warning, not an error, when it has none)."""
    stated = manifest.get(MANIFEST_HASH)
    if stated is None:
        log.warning("%s: %s has no %s: its labels and parameters are not covered by a checksum "
                    "(stamp it with ser_convert.manifest.stamp_bundle)", shown(name), MANIFEST_FILE, MANIFEST_HASH)
        return
    try:
        actual = manifest_digest(manifest)
    except ValueError as exc:
        raise BundleError(f"{name}: {MANIFEST_FILE} cannot be checked against its {MANIFEST_HASH} ({exc})") from None
    if not isinstance(stated, str) or stated.lower() != actual:
        raise BundleError(f"{name}: {MANIFEST_FILE} does not match its {MANIFEST_HASH} (edited or corrupt manifest: "
                          "labels or parameters changed since the bundle was made)")


def _check_model_entry(name: str, model: Any) -> None:
    """"model": {"file": a plain file name in the bundle, "sha256": 64 hex digits, "id": text}."""
    if not isinstance(model, dict):
        raise BundleError(f"{name}: manifest 'model' must be an object with file and sha256")
    file = model.get("file", MODEL_FILE)
    if not isinstance(file, str) or not file or file in (".", "..") or "/" in file or "\\" in file or "\0" in file:
        raise BundleError(f"{name}: manifest model.file {file!r} must be a file name inside the bundle")
    digest = model.get("sha256")
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise BundleError(f"{name}: manifest model.sha256 must be 64 hex digits, got {digest!r}")
    if "id" in model and not isinstance(model["id"], str):
        raise BundleError(f"{name}: manifest model.id must be text, got {model['id']!r}")


def _check_tensor_entry(name: str, role: str, entry: Any) -> None:
    """"input"/"output": {"shape": [ints], "dtype": text, "scale": number, "zero_point": int}."""
    if not isinstance(entry, dict):
        raise BundleError(f"{name}: manifest '{role}' must be an object with shape and dtype")
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise BundleError(f"{name}: manifest {role}.shape must be a list of integers, got {shape!r}")
    if not isinstance(entry.get("dtype"), str):
        raise BundleError(f"{name}: manifest {role}.dtype must be text, got {entry.get('dtype')!r}")
    for key, kinds in (("scale", (int, float)), ("zero_point", (int,))):
        value = entry.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
            raise BundleError(f"{name}: manifest {role}.{key} must be a finite number, got {value!r}")


def _params(name: str, manifest: dict[str, Any]) -> FeatureParams:
    """The feature parameters, checked, within what a device can run, and matching their hash."""
    source = f"{name}/{MANIFEST_FILE}"
    raw = manifest["feature_params"]
    if not isinstance(raw, dict):
        raise BundleError(f"{source}: feature_params must be an object")
    try:
        params = FeatureParams.from_dict(raw, source=source)
    except ConfigError as exc:  # the parameter checks do not always say where the parameters came from
        message = str(exc)
        raise BundleError(message if message.startswith(source) else f"{source}: {message}") from None
    except (TypeError, ValueError, OverflowError) as exc:  # NaN or 1e308 reaching int() in the checks
        raise BundleError(f"{source}: feature_params are not usable ({exc})") from None
    if not MIN_RATE <= params.sample_rate <= MAX_RATE or params.n_fft > MAX_FFT or params.window_ms > MAX_WINDOW_MS:
        raise BundleError(f"{source}: feature_params out of range (sample_rate {MIN_RATE}-{MAX_RATE} Hz, "
                          f"n_fft <= {MAX_FFT}, window_ms <= {MAX_WINDOW_MS:g})")
    if params.stable_hash() != manifest["feature_params_hash"]:
        raise BundleError(f"{name}: feature_params_hash {manifest['feature_params_hash']!r} does not match "
                          f"the parameters ({params.stable_hash()})")
    return params


def _check_normalisation(name: str, manifest: dict[str, Any], params: FeatureParams) -> None:
    """A ``speaker_cmvn`` bundle needs "normalisation": {"kind": "speaker_cmvn", "statistics": the
    population prior (mean and var, n_mfcc finite numbers each, var > 0), "adaptation": the same
    constants as feature_params}. Other bundles are not asked for it (old manifests lack it)."""
    if params.normalisation != "speaker_cmvn":
        return
    block = manifest.get("normalisation")
    if not isinstance(block, dict) or block.get("kind") != "speaker_cmvn":
        raise BundleError(f"{name}: feature_params say speaker_cmvn but manifest normalisation.kind is "
                          f"{block.get('kind') if isinstance(block, dict) else block!r}")
    try:
        Prior.from_dict(block.get("statistics"), params.n_mfcc)
    except ValueError as exc:
        raise BundleError(f"{name}: manifest normalisation.statistics: {exc}") from None
    constants = {"time_constant_s": params.adapt_time_constant_s, "prior_s": params.adapt_prior_s}
    if block.get("adaptation") != constants:
        raise BundleError(f"{name}: manifest normalisation.adaptation {block.get('adaptation')!r} does not match "
                          f"feature_params ({constants})")


def normalisation_block(params: FeatureParams, prior: Prior | None) -> dict[str, Any]:
    """The manifest's "normalisation" entry for ``params`` (and, for speaker_cmvn, its prior)."""
    if params.normalisation != "speaker_cmvn":
        return {"kind": params.normalisation, "scope": "per window", "statistics": None}
    if prior is None:
        raise ConfigError("speaker_cmvn needs a population prior (no voiced training frames?)")
    return {"kind": "speaker_cmvn", "scope": "per speaker, adaptive", "statistics": prior.to_dict(),
            "adaptation": {"time_constant_s": params.adapt_time_constant_s, "prior_s": params.adapt_prior_s}}


def _check_flatbuffer(bundle: Bundle) -> None:
    """A TFLite model is a FlatBuffer whose file identifier, bytes 4-8, is "TFL3"."""
    try:
        with open(bundle.model_path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise BundleError(f"{shown(bundle.path)}: cannot read {bundle.model_path.name} ({exc.strerror or exc})") from None
    if head[4:8] != b"TFL3":
        raise BundleError(f"{shown(bundle.path)}: {bundle.model_path.name} is not a TFLite model (no TFL3 identifier)")


def _sha256_or_fail(bundle: Bundle) -> str:
    try:
        return sha256_of(bundle.model_path)
    except OSError as exc:
        raise BundleError(f"{shown(bundle.path)}: cannot read {bundle.model_path.name} ({exc.strerror or exc})") from None

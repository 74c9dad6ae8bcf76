"""The one way to get a classifier: from a Classifier, a Bundle, a bundle folder, a shipped
bundle's name ("default", see `ser_edge.model.shipped`), or None / "" (the default model:
$SER_EDGE_MODEL, else the shipped "default").

A path that exists is always taken as a folder; a plain name that is not a folder is looked
up among the shipped bundles (BundleError listing them if it is none); anything else reaches
`load_bundle`, whose BundleError names it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from ser_edge.errors import BundleError
from .bundle import Bundle, load_bundle
from .classifier import Classifier
from .shipped import default_bundle_path, shipped_bundle_path, shipped_names

#: what every "model" argument accepts
ModelLike = Union[Classifier, Bundle, str, "os.PathLike[str]", None]


def bundle_path(model: Union[str, "os.PathLike[str]", None]) -> Path:
    """The bundle folder a name or path means (not yet checked: `load_bundle` does that)."""
    if model is None or not str(model):
        return default_bundle_path()
    path = Path(model)
    if path.exists():
        return path
    shipped = shipped_bundle_path(str(model))
    if shipped is not None:
        return shipped
    if len(path.parts) == 1:  # a plain name: say which names there are
        raise BundleError(f"{model}: no model bundle there, and no shipped model of that name "
                          f"(shipped: {', '.join(shipped_names()) or 'none'})")
    return path


def bundle_of(model: ModelLike) -> Bundle:
    """The checked Bundle of a model argument (BundleError naming the bundle if it is refused)."""
    if isinstance(model, Classifier):
        return model.bundle
    if isinstance(model, Bundle):
        return model
    return load_bundle(bundle_path(model))


def load_classifier(model: ModelLike, *, threads: int = 1) -> Classifier:
    """The Classifier of a model argument; BundleError naming the bundle if it, or the interpreter
    loading its model, refuses. A Classifier is returned as it is."""
    if isinstance(model, Classifier):
        return model
    bundle = bundle_of(model)
    try:
        return Classifier(bundle, num_threads=threads)
    except (ValueError, RuntimeError) as exc:  # a well-formed manifest around a model the interpreter rejects
        raise BundleError(f"{bundle.path}: the interpreter cannot load {bundle.model_path.name} ({exc})") from None

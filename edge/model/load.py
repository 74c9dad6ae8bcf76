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
from .shipped import resolve_bundle

#: what every "model" argument accepts
ModelLike = Union[Classifier, Bundle, str, "os.PathLike[str]", None]


def bundle_path(model: Union[str, "os.PathLike[str]", None]) -> Path:
    """The bundle folder a name or path means (not yet checked: `load_bundle` does that);
    the rule is `ser_edge.model.shipped.resolve_bundle`'s."""
    return resolve_bundle(model)


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

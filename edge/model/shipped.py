"""Where the default model bundle is: $SER_EDGE_MODEL, the installed wheel, or the checkout; and
`resolve_bundle`, which finds a shipped bundle by name ("default": any ``models/<name>/`` holding
a manifest.json) or takes a folder, and says why when the name is one of a withdrawn bundle."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Sequence, Union

from ser_edge.errors import BundleError

DEFAULT_NAME = "default"
ENV_MODEL = "SER_EDGE_MODEL"
#: what a shipped bundle's name may be: a plain folder name
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: shipped names whose bundle was withdrawn -> why, and what to use instead (a bundle of that name
#: found under models/ again is taken as any other: this only words the error when there is none)
WITHDRAWN: dict[str, str] = {}  # none now: "4class" (ser-edge-4class-v2, collapsed) ships again as v3


def default_bundle_path() -> Path:
    """The default bundle folder: $SER_EDGE_MODEL (a folder or a shipped name), else the shipped
    "default"; BundleError listing where it looked if none is found."""
    override = os.environ.get(ENV_MODEL)
    if override:
        return _resolve(override, None, f"$SER_EDGE_MODEL={override!r}")  # a folder or a shipped name
    candidates = [root / DEFAULT_NAME for root in shipped_roots()]
    for path in candidates:
        if (path / "manifest.json").is_file():
            return path
    raise BundleError("no default model found; looked in " + ", ".join(str(c) for c in candidates)
                      + f" (set {ENV_MODEL} or pass --model)")


def shipped_roots() -> list[Path]:
    """The folders that may hold shipped bundles, searched in this order: the wheel's, the checkout's."""
    package = Path(__file__).resolve().parent.parent  # ser_edge/ (edge/ in a checkout)
    return [package / "models",  # installed wheel: ser_edge/models/<name>
            package.parent / "models"]  # source checkout: edge/ beside models/


def shipped_bundles(roots: Optional[Sequence[Path]] = None) -> dict[str, Path]:
    """name -> folder of every shipped bundle (a subfolder holding a manifest.json), sorted by name;
    the first of ``roots`` (default `shipped_roots`) holding a name wins."""
    found: dict[str, Path] = {}
    for root in shipped_roots() if roots is None else roots:
        if Path(root).is_dir():
            for folder in sorted(Path(root).iterdir()):
                if folder.name not in found and (folder / "manifest.json").is_file():
                    found[folder.name] = folder
    return dict(sorted(found.items()))


def resolve_bundle(name_or_path: Union[str, "os.PathLike[str]", None],
                   roots: Optional[Sequence[Path]] = None) -> Path:
    """The bundle folder meant by a shipped name ("default"), a folder, or None/"" (the default).

    A path that exists is always taken as a folder (`load_bundle` then says what is wrong with
    it, if anything); a plain name (no slash) that is not one is looked up among the shipped
    bundles (in ``roots``, default `shipped_roots`); anything else is a BundleError naming it and
    listing the shipped names, or, for the name of a withdrawn bundle (`WITHDRAWN`), saying why
    and what to use instead.
    """
    if name_or_path is None or not str(name_or_path):
        return default_bundle_path()
    return _resolve(str(name_or_path), roots, str(name_or_path))


def _resolve(text: str, roots: Optional[Sequence[Path]], where: str) -> Path:
    path = Path(text).expanduser()
    if path.exists():
        return path
    shipped = shipped_bundles(roots)
    plain = NAME_RE.fullmatch(text) is not None
    if plain and text in shipped:
        return shipped[text]
    names = ", ".join(shipped) or "none found"
    if plain and text in WITHDRAWN:
        raise BundleError(f"{where}: {WITHDRAWN[text]} (shipped: {names})")
    if plain:
        raise BundleError(f"{where}: no model bundle there and no shipped bundle of that name (shipped: {names})")
    raise BundleError(f"{where}: no model bundle there (expected a folder with model.tflite and manifest.json; "
                      f"shipped bundles by name: {names})")

"""One style for the frozen configuration dataclasses (`FeatureParams`, `ser_train`'s
`AugmentConfig`, the listener settings): each field carries a one-line doc (with its unit),
the object checks itself when it is made, and a bad value is one ConfigError of one shape:

    <what> <name>=<value!r> is invalid; allowed: <what the field accepts>

and, for the two that are written into manifests and caches, one versioned dict form:
`to_dict` adds ``<version_key>: <version>``; `from_dict` refuses other versions and unknown
keys; `stable_hash` is the first 16 hex digits of the sha256 of the canonical JSON of `to_dict`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import field
from typing import Any, Mapping, TypeVar

from ser_edge.errors import ConfigError

T = TypeVar("T", bound="Versioned")


def doc_field(text: str, **kwargs: Any) -> Any:
    """A dataclass field with its one-line documentation (unit included) in ``metadata["doc"]``."""
    return field(metadata={"doc": text}, **kwargs)


#: longest repr of a value that a message shows, characters (a 1 MB string is cut, not printed)
SHOWN_CHARS = 120


def brief(value: Any) -> str:
    """``repr(value)``, cut to `SHOWN_CHARS` characters (saying how long it was) for messages."""
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


def invalid(what: str, name: str, value: Any, allowed: str) -> ConfigError:
    """The one error for a field's value: ``<what> <name>=<value!r> is invalid; allowed: <allowed>``
    (the value's repr cut by `brief`)."""
    return ConfigError(f"{what} {name}={brief(value)} is invalid; allowed: {allowed}")


def require(obj: Any, what: str, name: str, ok: bool, allowed: str) -> None:
    """Raise `invalid` for ``obj.<name>`` unless ``ok``."""
    if not ok:
        raise invalid(what, name, getattr(obj, name), allowed)


def sha256(data: bytes = b"") -> Any:
    """A sha256 hash object, as ``hashlib.sha256(data)``, from CPython's own implementation where it
    has one: importing hashlib maps OpenSSL's libcrypto, some 3.5 MB of the device's resident memory
    (every process verifies its model's sha256). hashlib where the interpreter lacks it."""
    try:
        from _sha256 import sha256 as make  # type: ignore[import-not-found]  # CPython <= 3.11
    except ImportError:
        try:
            from _sha2 import sha256 as make  # type: ignore[import-not-found,no-redef]  # CPython >= 3.12
        except ImportError:
            from hashlib import sha256 as make  # type: ignore[assignment]
    return make(data)


def canonical_hash(data: Mapping[str, Any]) -> str:
    """Hex sha256 (16 chars) of ``data`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return sha256(text.encode("utf-8")).hexdigest()[:16]


class Versioned:
    """Mixin for a frozen, keyword-only dataclass written into manifests or caches.

    Subclasses set ``WHAT`` (e.g. "feature parameter", in messages), ``VERSION_KEY`` and
    ``VERSION`` (bumped when a field's meaning or the maths behind it changes).
    """

    WHAT = "setting"
    VERSION_KEY = "version"
    VERSION = 1
    SOURCE = "parameters"  #: names the dict in messages when the caller does not

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field, plus the version."""
        return {**dataclasses.asdict(self), self.VERSION_KEY: self.VERSION}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any], *, source: str = "") -> T:
        """Build from a dict written by `to_dict`; other versions, unknown keys or a wrong type
        are a ConfigError naming ``source``."""
        data, source = dict(data), source or cls.SOURCE
        version = data.pop(cls.VERSION_KEY, cls.VERSION)
        if version != cls.VERSION:
            raise ConfigError(f"{source}: {cls.VERSION_KEY} {version!r} is not supported "
                              f"(this ser-edge understands {cls.VERSION})")
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown {cls.WHAT}(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(sorted(known))}")
        try:
            return cls(**data)
        except TypeError as exc:  # a wrong type reached a comparison in a check
            raise ConfigError(f"{source}: {exc}") from None

    def stable_hash(self) -> str:
        """Hex sha256 (16 chars) of the canonical JSON of `to_dict`, stable across runs."""
        return canonical_hash(self.to_dict())

    def replace(self: T, **changes: Any) -> T:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

"""The vocabulary of the configuration schema: one `Spec` per key, and its checks.

Each key of a settings section is a dataclass field made with `opt`, whose metadata holds
a `Spec`: the kind of value, its unit, its allowed range or choices, a one-line doc and
the command-line flag that overrides it. The loader (`ser_edge.config.load`), the CLI flags and
`ser-edge config check` all read the same specs, so a key, its flag and its message
cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .versioned import brief, invalid

#: kinds of values a key may hold
KINDS = ("number", "int", "bool", "str", "choice", "str_list", "str_map", "header_map", "number_map")
#: longest string value (a path, a name, a header), characters: Linux's PATH_MAX is 4096 bytes
MAX_TEXT = 4096
#: most items in a list or entries in a table
MAX_ITEMS = 1000
#: an HTTP header name (RFC 9110 token)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class Spec:
    """How one key is checked and shown.

    kind: one of `KINDS`; low/high: inclusive bounds for number and int keys (None = open);
    choices: allowed strings for a choice key; unit: shown in messages (Hz, ms, s, dB, dBFS);
    flag: the CLI flag ("" = none, None = derived from the key); secret: hidden when shown.
    """

    kind: str
    doc: str
    low: Optional[float] = None
    high: Optional[float] = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    flag: Optional[str] = None
    secret: bool = False

    def allowed(self) -> str:
        """What the key accepts, in words, for error messages."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind in ("number", "int"):
            what = "an integer" if self.kind == "int" else "a number"
            if self.low is not None and self.high is not None:
                return f"{what} from {self.low:g} to {self.high:g}{unit}"
            if self.low is not None:
                return f"{what} >= {self.low:g}{unit}"
            return f"{what}{unit}"
        return {
            "bool": "true or false",
            "str": "a string",
            "str_list": "a list of strings",
            "str_map": "a table of string values",
            "header_map": "a table of HTTP headers: names of letters, digits and !#$%&'*+-.^_`|~, "
                          "values of Latin-1 text without control characters",
            "number_map": "a table of numbers" + (f" from {self.low:g} to {self.high:g}" if self.low is not None else ""),
        }[self.kind]


def opt(default: Any, doc: str, kind: str = "number", **spec: Any) -> Any:
    """A settings field with its `Spec`; lists and tables get a fresh default each time."""
    meta = {"spec": Spec(kind=kind, doc=doc, **spec)}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def section(cls: type) -> Any:
    """A field holding a whole sub-section (a settings dataclass)."""
    return field(default_factory=cls, metadata={"section": cls})


class Checked:
    """Mixin for a settings dataclass: it checks its fields against their specs when it is made
    (ConfigError ``setting <name>=<value> is invalid; allowed: ...``), as `FeatureParams` does, so
    settings built in code are held to the rules the configuration file is. ``WHAT`` names the
    kind of setting in messages."""

    WHAT = "setting"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            spec = f.metadata.get("spec")
            if spec is None:
                continue
            try:
                check(getattr(self, f.name), spec)
            except Invalid as exc:
                raise invalid(self.WHAT, f.name, "***" if spec.secret else getattr(self, f.name), str(exc)) from None


class Invalid(ValueError):
    """A value does not fit its spec; the message says what is allowed."""


def check(value: Any, spec: Spec) -> Any:
    """The value normalised for its spec (ints become floats for number keys); Invalid if it does not fit."""
    checker = _CHECKERS[spec.kind]
    return checker(value, spec)


def _number(value: Any, spec: Spec) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(spec.allowed())
    try:
        number = float(value)  # an integer beyond 1e308 overflows here
    except OverflowError:
        raise Invalid(spec.allowed()) from None
    if not math.isfinite(number):
        raise Invalid(spec.allowed())
    _bounds(number, spec)
    return number


def _int(value: Any, spec: Spec) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(spec.allowed())
    _bounds(value, spec)
    return int(value)


def _bounds(value: float, spec: Spec) -> None:
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise Invalid(spec.allowed())


def _bool(value: Any, spec: Spec) -> bool:
    if not isinstance(value, bool):
        raise Invalid(spec.allowed())
    return value


def _text(value: Any, spec: Spec) -> str:
    """A string any key may hold: no NUL (no path or name can hold one), at most `MAX_TEXT` characters."""
    if not isinstance(value, str):
        raise Invalid(spec.allowed())
    if "\0" in value:
        raise Invalid(f"{spec.allowed()} without NUL characters")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{spec.allowed()} of at most {MAX_TEXT} characters")
    return value


def _sized(value: Any, spec: Spec, kind: type) -> Any:
    """``value`` if it is a ``kind`` (list or Mapping) of at most `MAX_ITEMS` items."""
    if not isinstance(value, kind):
        raise Invalid(spec.allowed())
    if len(value) > MAX_ITEMS:
        raise Invalid(f"{spec.allowed()} of at most {MAX_ITEMS} items")
    return value


def _str(value: Any, spec: Spec) -> str:
    return _text(value, spec)


def _choice(value: Any, spec: Spec) -> str:
    if not isinstance(value, str) or value not in spec.choices:
        raise Invalid(spec.allowed())
    return value


def _str_list(value: Any, spec: Spec) -> list[str]:
    return [_text(v, spec) for v in _sized(value, spec, (list, tuple))]


def _str_map(value: Any, spec: Spec) -> dict[str, str]:
    return {_text(k, spec): _text(v, spec) for k, v in _sized(value, spec, Mapping).items()}


def _header_map(value: Any, spec: Spec) -> dict[str, str]:
    """HTTP headers that http.client sends as given: a token name, a Latin-1 value without
    control characters (no CR/LF: a header cannot be split into two)."""
    table = _str_map(value, spec)
    for name, text in table.items():
        if not _TOKEN.fullmatch(name):
            raise Invalid(f"{spec.allowed()}; {brief(name)} is not a header name")
        if any(c != "\t" and (ord(c) < 32 or ord(c) == 127) for c in text):
            raise Invalid(f"{spec.allowed()}; the value of {name} holds a control character")
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            raise Invalid(f"{spec.allowed()}; the value of {name} is not Latin-1 text") from None
    return table


def _number_map(value: Any, spec: Spec) -> dict[str, float]:
    inner = Spec(kind="number", doc=spec.doc, low=spec.low, high=spec.high, unit=spec.unit)
    return {_text(str(k), spec): _number(v, inner) for k, v in _sized(value, spec, Mapping).items()}


_CHECKERS = {
    "number": _number, "int": _int, "bool": _bool, "str": _str, "choice": _choice,
    "str_list": _str_list, "str_map": _str_map, "header_map": _header_map, "number_map": _number_map,
}

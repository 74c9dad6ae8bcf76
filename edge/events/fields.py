"""The value rules of event fields: finite rounded numbers, read-only maps, the model reference.

Numbers are rounded when an event is made (`ser_edge.events.event`), so that what an event holds
is what it sends: scores and confidence to 4 decimals, arousal and valence to 3, audio times to
the millisecond (s), latencies to 0.01 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Mapping, Union

SCORE_DECIMALS = 4
#: how many decimals arousal and valence carry in events and results (`ser_edge.model.circumplex`)
AFFECT_DECIMALS = 3
SECONDS_DECIMALS = 3
MS_DECIMALS = 2
#: how many hex digits of the model's sha256 an event carries
SHA_PREFIX_LEN = 12

Scalar = Union[str, int, float, bool, None]


def finite(name: str, value: Any) -> float:
    """`value` as a float, refusing NaN and infinities (JSON cannot carry them)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"event field {name} must be a finite number, got {value!r}")
    return number


def rounded(name: str, value: Any, decimals: int) -> float:
    return round(finite(name, value), decimals)


def set_field(obj: Any, name: str, value: Any) -> None:
    # Frozen dataclasses may only normalise their own fields in __post_init__.
    object.__setattr__(obj, name, value)


def format_time(epoch_s: float) -> str:
    """Wall-clock seconds since the epoch as ISO 8601 UTC, millisecond precision, 'Z'."""
    stamp = datetime.fromtimestamp(epoch_s, tz=timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FrozenMap(Mapping):
    """A read-only, hashable, order-keeping mapping, so that events stay hashable."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True)
class ModelRef:
    """Which model made an event: its id and a prefix of its bundle's sha256."""

    id: str
    sha256: str

    def __post_init__(self) -> None:
        digest = str(self.sha256).lower()[:SHA_PREFIX_LEN]
        if digest and any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"model sha256 must be hex digits, got {self.sha256!r}")
        set_field(self, "sha256", digest)

    def to_dict(self) -> Dict[str, str]:
        return {"id": self.id, "sha256": self.sha256}


def scalar(name: str, value: Any) -> Scalar:
    if isinstance(value, float):
        return finite(name, value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise ValueError(f"event field {name} must be a JSON scalar, got {type(value).__name__}")


def check_span(event: Any) -> None:
    start = rounded("start_s", event.start_s, SECONDS_DECIMALS)
    end = rounded("end_s", event.end_s, SECONDS_DECIMALS)
    if start < 0 or end < start:
        raise ValueError(f"audio span must satisfy 0 <= start_s <= end_s, got {event.start_s}..{event.end_s}")
    set_field(event, "start_s", start)
    set_field(event, "end_s", end)

"""The gate a bundle must pass before it is written: no class the model has given up on.

A model that (almost) never says one of its labels can still post a fair UAR; on the device it
is broken. On the held-out speakers (int8, clip level), every class's recall must reach the
floor: half the bundle's UAR, and at least chance (1 / number of classes). A class those
speakers lack cannot be judged and is listed as unchecked. A bundle is judged on every decision
the device can make with it (`bundle_gates`): its windows' (`scope = "window"`, any bundle) and,
with an utterance head, its utterances' (the listener's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Gate:
    """The floor, and the classes below it (label -> recall) or not judged (absent)."""

    floor: float
    below: dict[str, float]
    unchecked: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.below

    def failures(self) -> list[str]:
        return [f"class {label!r} has recall {recall:.3f} on the held-out speakers, below the floor "
                f"{self.floor:.3f} (half the UAR, at least chance)" for label, recall in self.below.items()]

    def to_dict(self) -> dict:
        return {"passed": self.passed, "floor": round(self.floor, 4),
                "below": {k: round(v, 4) for k, v in self.below.items()}, "unchecked": list(self.unchecked)}


def class_gate(report: dict) -> Gate:
    """The gate on a clip-level report (`ser_train.metrics.report`: ``uar``, ``per_class_recall``
    with None for a class the data lacks)."""
    recalls = report["per_class_recall"]
    floor = max(report["uar"] / 2.0, 1.0 / len(recalls))
    below = {label: r for label, r in recalls.items() if r is not None and r < floor}
    return Gate(floor, below, tuple(label for label, r in recalls.items() if r is None))


def bundle_gates(windows: dict, utterances: Optional[dict] = None) -> dict[str, Gate]:
    """The gate on each kind of decision a bundle makes, from clip-level reports of its windows (the
    mean of a clip's windows) and of its utterance head if it has one: {"utterances"?, "windows"},
    the device's default decision first."""
    gates = {} if utterances is None else {"utterances": class_gate(utterances)}
    return {**gates, "windows": class_gate(windows)}


def gate_failures(gates: dict[str, Gate]) -> list[str]:
    """Every class below its floor, named with the decisions it was judged on."""
    return [f"{scope} decisions: {failure}" for scope, gate in gates.items() for failure in gate.failures()]

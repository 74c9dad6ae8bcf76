"""Arousal and valence from class scores: each label placed on the circumplex of affect.

A bundle's manifest may carry ``"circumplex": {"neutral": [valence, arousal], ...}``, one
point per label, both coordinates in [-1, 1] (valence: unpleasant -1 .. pleasant +1;
arousal: calm -1 .. excited +1). A window's or a clip's class scores p (label order, summing
to 1) then become

    valence = sum_i p_i * v_i        arousal = sum_i p_i * a_i

a point inside the convex hull of the labels' placements, hence within [-1, 1].

Bundles made before manifests carried the field get `DEFAULT_PLACEMENT`, keyed by label
name. Its placement of the basic emotions follows Russell JA (1980), "A circumplex model of
affect", J Pers Soc Psychol 39(6):1161-1178; its arousal split (high: angry, happy, fearful,
surprised; low: neutral, sad, disgust) is the grouping of Schuller B et al. (2009),
"Acoustic emotion recognition: a benchmark comparison of performances", IEEE ASRU, which the
project's binary arousal metric uses. A bundle whose labels are not all in the default and
whose manifest has no circumplex has none: its events carry arousal and valence as null.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence, Tuple

from ser_edge.errors import BundleError
from ser_edge.events.fields import AFFECT_DECIMALS

#: the manifest field
FIELD = "circumplex"

Point = Tuple[float, float]  # (valence, arousal), each in [-1, 1]

#: label -> (valence, arousal); see the module doc for the sources
DEFAULT_PLACEMENT: Mapping[str, Point] = MappingProxyType({
    "neutral": (0.0, 0.0),
    "happy": (0.8, 0.5),
    "sad": (-0.7, -0.5),
    "angry": (-0.6, 0.8),
    "fearful": (-0.7, 0.7),
    "disgust": (-0.7, -0.2),
    "surprised": (0.3, 0.8),
})


def default_circumplex(labels: Sequence[str]) -> Optional[dict[str, list[float]]]:
    """The manifest field for ``labels`` from `DEFAULT_PLACEMENT`; None if a label has no default."""
    if not labels or any(label not in DEFAULT_PLACEMENT for label in labels):
        return None
    return {label: list(DEFAULT_PLACEMENT[label]) for label in labels}


def read_circumplex(name: str, manifest: Mapping[str, Any], labels: Sequence[str]) -> Optional[dict[str, Point]]:
    """The label -> (valence, arousal) placement of a bundle, checked.

    From the manifest's ``circumplex`` field if present: an object with exactly the labels as
    keys, each [valence, arousal], finite, in [-1, 1]; BundleError naming the bundle (``name``)
    and the label otherwise. Without the field: the default for these label names, or None.
    """
    if FIELD not in manifest:
        found = default_circumplex(labels)
        return None if found is None else {k: (v[0], v[1]) for k, v in found.items()}
    raw = manifest[FIELD]
    if not isinstance(raw, dict):
        raise BundleError(f"{name}: manifest {FIELD} must be an object of label: [valence, arousal], got {raw!r}")
    missing = [label for label in labels if label not in raw]
    unknown = [key for key in raw if key not in labels]
    if missing or unknown:
        raise BundleError(f"{name}: manifest {FIELD} must place every label and only those"
                          + (f"; missing {', '.join(missing)}" if missing else "")
                          + (f"; not labels: {', '.join(map(str, unknown))}" if unknown else ""))
    return {label: _point(name, label, raw[label]) for label in labels}


def _point(name: str, label: str, value: Any) -> Point:
    ok = isinstance(value, list) and len(value) == 2 and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and -1.0 <= x <= 1.0
        for x in value)
    if not ok:
        raise BundleError(f"{name}: manifest {FIELD}.{label} must be [valence, arousal], each a number "
                          f"within -1..1, got {value!r}")
    return float(value[0]), float(value[1])


def affect(scores: Mapping[str, float], placement: Optional[Mapping[str, Point]]) -> dict[str, Optional[float]]:
    """{"arousal": a, "valence": v} for class scores (label -> probability), both in [-1, 1].

    The scores are divided by their sum first (an int8 softmax sums to 1 only within its
    quantization step), and the result is rounded to `AFFECT_DECIMALS`. Both are None when
    there is no placement or the scores are all zero.
    """
    total = sum(float(p) for p in scores.values()) if placement is not None else 0.0
    if placement is None or not total > 0.0:
        return {"arousal": None, "valence": None}
    valence = sum(float(p) * placement[k][0] for k, p in scores.items()) / total
    arousal = sum(float(p) * placement[k][1] for k, p in scores.items()) / total
    return {"arousal": _clip_round(arousal), "valence": _clip_round(valence)}


def _clip_round(x: float) -> float:
    return round(min(1.0, max(-1.0, x)), AFFECT_DECIMALS) + 0.0  # + 0.0: no -0.0 in JSON

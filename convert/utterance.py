"""A fusion run's utterance head in the bundle: checked as the device reads it, and the held-out
clips decided with it from float and from int8 window scores, so that the gate judges what the
device will say (`ser_edge.model.utterance`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ser_edge.errors import ConfigError
from ser_edge.frontend.functionals import vector_dims
from ser_edge.model.utterance import UtteranceHead, read_head
from ser_train.fit.run import Run

from .parity import top1_agreement


@dataclass(frozen=True)
class UtteranceParity:
    """Clip decisions of the head from float and int8 window scores: agreement and both reports."""

    agreement: float
    clips: int
    float_report: dict
    int8_report: dict

    def to_dict(self) -> dict:
        return {"clips": self.clips, "top1_agreement": round(self.agreement, 4), "float": self.float_report,
                "int8": self.int8_report}


def run_head(run: Run) -> tuple[Optional[dict], Optional[UtteranceHead], np.ndarray, np.ndarray]:
    """(manifest entry, head, held-out clip positions, their z-scored vectors) of a fusion run; Nones
    and empty arrays for a run decided by its windows. ConfigError if the saved head is unusable."""
    entry, numbers, z = run.utterance()
    if entry is None:
        return None, None, numbers, z
    try:
        head = read_head(str(run.path), {"utterance": entry}, len(run.labels), vector_dims(run.params))
    except Exception as exc:  # BundleError: the run's file, not a bundle, is at fault
        raise ConfigError(f"{run.path}: its utterance head is unusable ({exc})") from None
    return entry, head, numbers, z


def decide(run: Run, head: UtteranceHead, numbers: np.ndarray, z: np.ndarray, part: str,
           float_scores: np.ndarray, int8_scores: np.ndarray) -> UtteranceParity:
    """Decide every clip of ``run.windows(part)`` that has a vector, from both models' window scores."""
    windows = run.windows(part)
    where = {int(n): k for k, n in enumerate(numbers)}
    ids = [int(i) for i in np.unique(windows.clip) if int(i) in where]
    if not ids:
        raise ConfigError(f"{run.path}: no held-out clip has utterance statistics to check the head on")
    decided = [np.array([head.scores(scores[windows.clip == i], z[where[i]]) for i in ids])
               for scores in (float_scores, int8_scores)]
    reports = [run.report_of(ids, d) for d in decided]
    return UtteranceParity(top1_agreement(*decided), len(ids), reports[0], reports[1])

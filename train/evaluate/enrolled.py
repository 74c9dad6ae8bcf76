"""`--enrol-per-class K`: what a handful of the speaker's own labelled clips buys.

For each test speaker, K clips of each class are drawn at random (at most all but one of the
class's clips, so every class keeps a clip to score), enrolled in the device's personal head
(`ser_edge.model.personal`, the very code the device runs), and the speaker's other clips are
scored by it; ``draws`` seeded draws, figures pooled over speakers per draw, then averaged over
draws. Beside them the bundle alone on the same clips (``base_uar``), so the gain is on equal
clips. The head's vectors are scaled by the enrolled clips alone, as on the device.

A table (`EnrolTable`) holds one row per clip: speaker, label index, and `head_vector` (the
clip's functionals and the log of the model's clip probabilities, those of the "adapted"
condition: the speaker's statistics from their other clips).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from ser_edge.frontend.functionals import segment_vector
from ser_edge.model.personal import HeadSettings, PersonalHead, head_vector
from ser_train.metrics import report

DRAWS = 5


@dataclass(frozen=True)
class EnrolTable:
    """``speakers`` (n,) names, ``y`` (n,) label indices, ``x`` (n, D) float64 head vectors."""

    speakers: np.ndarray
    y: np.ndarray
    x: np.ndarray


def enrol_table(clips: Sequence, numbers: Sequence[int], probabilities: np.ndarray, features: Mapping,
                params, label_set) -> EnrolTable:
    """The table of clips ``numbers`` (positions in ``clips``) whose clip probabilities are the rows
    of ``probabilities`` (n, classes); ``features``: (path, "clean") -> cached `ClipFeatures`."""
    rows = []
    for number, p in zip(numbers, probabilities):
        feats = features[(clips[number].path, "clean")]
        rows.append(head_vector(segment_vector(feats.frames, feats.speech, feats.prosody, params), p))
    return EnrolTable(np.array([clips[i].speaker for i in numbers]),
                      np.array([label_set.index_of(clips[i].emotion) for i in numbers], dtype=np.int64),
                      np.array(rows).reshape(len(rows), -1))


def draw_enrolment(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) bool: ``k`` random clips of each class of ``y`` (at most all but one of a class)."""
    chosen = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        ids = np.flatnonzero(y == c)
        take = min(k, len(ids) - 1)
        if take > 0:
            chosen[rng.choice(ids, size=take, replace=False)] = True
    return chosen


def enrolled_scores(table: EnrolTable, k: int, n_classes: int, rng: np.random.Generator,
                    settings: Optional[HeadSettings] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One draw over every speaker: (truth (m,), the head's log-probabilities (m, classes), the
    model's own (m, classes)) of the clips not enrolled."""
    truth, head, base = [], [], []
    for speaker in sorted(set(table.speakers.tolist())):
        at = np.flatnonzero(table.speakers == speaker)
        chosen = draw_enrolment(table.y[at], k, rng)
        model = PersonalHead(table.x[at][chosen], table.y[at][chosen], n_classes, settings)
        rest = table.x[at][~chosen]
        truth.append(table.y[at][~chosen])
        head.append(model.log_scores(rest))
        base.append(rest[:, -n_classes:])
    return np.concatenate(truth), np.concatenate(head), np.concatenate(base)


def enrolled_figures(table: EnrolTable, k: int, labels: Sequence[str], *, draws: int = DRAWS, seed: int = 0,
                     settings: Optional[HeadSettings] = None) -> dict:
    """{"k", "uar", "per_class_recall", "base_uar", "uar_sd", "n", "draws", "speakers"}: means over
    ``draws`` seeded draws (K = 0 is the model alone, one "draw")."""
    runs = []
    for d in range(draws if k > 0 else 1):
        truth, head, base = enrolled_scores(table, k, len(labels), np.random.default_rng([seed, d]), settings)
        runs.append((report(truth, head.argmax(axis=1), labels), report(truth, base.argmax(axis=1), labels)))
    recall = {}
    for label in labels:
        values = [r["per_class_recall"][label] for r, _ in runs if r["per_class_recall"][label] is not None]
        recall[label] = round(float(np.mean(values)), 4) if values else None
    uars = [r["uar"] for r, _ in runs]
    return {"k": k, "uar": round(float(np.mean(uars)), 4), "per_class_recall": recall,
            "base_uar": round(float(np.mean([b["uar"] for _, b in runs])), 4), "uar_sd": round(float(np.std(uars)), 4),
            "n": runs[0][0]["n"], "draws": len(runs), "speakers": len(set(table.speakers.tolist()))}


def format_enrolled(result: dict) -> str:
    """One line: the K, the UAR with the head and without it on the same clips."""
    return (f"  enrolled K={result['k']} per class ({result['draws']} draws, {result['speakers']} speakers, "
            f"{result['n']} clips scored): UAR {result['uar']:.3f} (sd {result['uar_sd']:.3f}), "
            f"without the head {result['base_uar']:.3f}")

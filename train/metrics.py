"""Classification figures that stay honest under class imbalance (NumPy only).

UAR (unweighted average recall) is the mean of per-class recalls over the classes
present in the reference; macro-F1 likewise averages per-class F1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts; rows are true labels, columns predictions."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def report(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """n, accuracy, uar, macro_f1, per_class_recall and confusion {labels, matrix} as plain JSON."""
    m = confusion_matrix(y_true, y_pred, len(labels))
    support = m.sum(axis=1)
    predicted = m.sum(axis=0)
    tp = np.diag(m).astype(float)
    present = support > 0
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=present)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    n = int(m.sum())
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "uar": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_recall": {lab: (float(r) if s else None) for lab, r, s in zip(labels, recall, support)},
        "support": {lab: int(s) for lab, s in zip(labels, support)},
        "confusion": {"labels": list(labels), "matrix": m.tolist()},
    }


def aggregate_clip_scores(window_scores: np.ndarray, clip_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of window scores per clip: (windows, classes), (windows,) -> (clips,), (clips, classes)."""
    ids, inverse = np.unique(clip_ids, return_inverse=True)
    sums = np.zeros((len(ids), window_scores.shape[1]))
    np.add.at(sums, inverse, window_scores)
    counts = np.bincount(inverse, minlength=len(ids))[:, None]
    return ids, sums / counts

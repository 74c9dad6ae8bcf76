"""Classification figures that stay honest under class imbalance (NumPy only).

UAR (unweighted average recall) is the mean of per-class recalls over the classes
present in the reference; macro-F1 likewise averages per-class F1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ser_edge.model.circumplex import DEFAULT_PLACEMENT
from ser_train.data.labels import get_label_set


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


#: Labels counted as high arousal in the binary arousal figure: those the circumplex places above
#: zero (angry, happy, fearful, surprised); every other label, and any it does not place, is low.
HIGH_AROUSAL = tuple(label for label, (_, arousal) in DEFAULT_PLACEMENT.items() if arousal > 0)
#: The classes of the 4-class figure: the 4class label set, in its order.
FOUR_CLASSES = get_label_set("4class").labels


def restricted_report(y_true: np.ndarray, scores: np.ndarray, labels: Sequence[str], subset: Sequence[str]) -> dict:
    """`report` over the clips whose true label is in ``subset``, predicting the best-scoring
    label of ``subset`` (scores (clips, len(labels)) restricted to those columns)."""
    columns = [labels.index(x) for x in subset if x in labels]
    names = [labels[c] for c in columns]
    keep = np.isin(np.asarray(y_true, int), columns)
    remap = {c: i for i, c in enumerate(columns)}
    truth = np.array([remap[int(t)] for t in np.asarray(y_true)[keep]], dtype=int)
    predicted = np.asarray(scores)[keep][:, columns].argmax(axis=1) if keep.any() else np.zeros(0, int)
    return report(truth, predicted, names)


def arousal_balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> float:
    """Mean of high- and low-arousal recall (high = `HIGH_AROUSAL`), over the sides the truth has."""
    high = np.array([label in HIGH_AROUSAL for label in labels])
    t, p = high[np.asarray(y_true, int)], high[np.asarray(y_pred, int)]
    recalls = [float((p[t == side] == side).mean()) for side in (True, False) if (t == side).any()]
    return float(np.mean(recalls)) if recalls else 0.0

"""The utterance head (`--head utterance` or `utterance+stats`): one decision per clip from all of
its windows at once, instead of the average of each window's own decision.

After the network is trained on windows, each window's embedding (the network's time-pooled last
block, layer ``time_pool``, (d,)) is taken; a clip's input is the mean and sd of its windows'
embeddings (2d), and with ``utterance+stats`` also its speaker-normalised functionals
(`ser_train.fit.functionals`: MFCC and, where the front end has them, prosodic statistics). A
multinomial logistic regression on the training speakers' clean clips decides. Emotion lives in
how a voice moves over a whole utterance; a 1.5 s window sees little of it.

``fusion`` stacks nothing on the network: the clip's score is the product of two experts trained
apart, the network's windows (geometric mean of their probabilities) and a regression on the
clip's speaker-normalised statistics (the functionals baseline's model, fitted on the same training
clips), renormalised. Neither learns the other's outputs, so the network's over-confidence on the
clips it trained on cannot teach the regression to trust it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from ser_train.data.corpora import Clip
from ser_train.features.windows import WindowSet
from ser_train.fit.functionals import ClipTable, FunctionalsModel

EMBEDDING_LAYER = "time_pool"
HEAD_FILE = "head.pkl"

#: (k, frames, coeffs) float32 windows -> (k, d) embeddings
Embedder = Callable[[np.ndarray], np.ndarray]


def embedder(model) -> Embedder:
    """The network's time-pooled embedding of windows (a Keras model's ``time_pool`` output)."""
    import keras

    inner = keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output)
    return lambda x: inner.predict(x, batch_size=256, verbose=0)


def clip_embeddings(embed: Embedder, windows: WindowSet) -> tuple[np.ndarray, np.ndarray]:
    """(clip numbers (n,), (n, 2d) float64: mean and sd of each clip's window embeddings)."""
    if len(windows) == 0:
        return np.zeros(0, np.int64), np.zeros((0, 0))
    e = np.asarray(embed(windows.x), dtype=np.float64)
    ids = np.unique(windows.clip)
    rows = [e[windows.clip == i] for i in ids]
    return ids, np.array([np.concatenate([r.mean(axis=0), r.std(axis=0)]) for r in rows])


@dataclass
class UtteranceHead:
    """The regression and what its inputs are: embeddings alone or with the functionals."""

    model: FunctionalsModel
    with_stats: bool

    def inputs(self, embed: Embedder, windows: WindowSet, stats: Optional[ClipTable]) -> tuple[np.ndarray, np.ndarray]:
        """(clip numbers, head inputs) of the clips that have windows (and functionals, with_stats)."""
        ids, x = clip_embeddings(embed, windows)
        if not self.with_stats or stats is None:
            return ids, x
        where = {int(n): k for k, n in enumerate(stats.numbers)}
        keep = np.array([int(i) in where for i in ids], dtype=bool)
        ids, x = ids[keep], x[keep]
        return ids, np.hstack([x, stats.x[[where[int(i)] for i in ids]]]) if len(ids) else x

    def scores(self, embed: Embedder, windows: WindowSet, stats: Optional[ClipTable]) -> tuple[np.ndarray, np.ndarray]:
        """(clip numbers, (n, classes) probabilities)."""
        ids, x = self.inputs(embed, windows, stats)
        return ids, self.model.scores(x)


@dataclass
class FusionHead:
    """`--head fusion`: softmax(mean window log-probability + log regression probability)."""

    model: FunctionalsModel
    floor: float = 1e-4  # probabilities are floored before the log: one 0 must not veto a class

    def scores(self, predict: Embedder, windows: WindowSet, stats: Optional[ClipTable]) -> tuple[np.ndarray, np.ndarray]:
        """(clip numbers, (n, classes) probabilities) of the clips with windows and statistics;
        ``predict``: windows -> (k, classes) probabilities (the network)."""
        if len(windows) == 0 or stats is None:
            return np.zeros(0, np.int64), np.zeros((0, self.model.n_classes))
        log_p = np.log(np.maximum(np.asarray(predict(windows.x), dtype=np.float64), self.floor))
        where = {int(n): k for k, n in enumerate(stats.numbers)}
        ids = np.array([i for i in np.unique(windows.clip) if int(i) in where], dtype=np.int64)
        if len(ids) == 0:
            return ids, np.zeros((0, self.model.n_classes))
        net = np.array([log_p[windows.clip == i].mean(axis=0) for i in ids])
        reg = np.log(np.maximum(self.model.scores(stats.x[[where[int(i)] for i in ids]]), self.floor))
        return ids, softmax(net + reg)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, classes) float64."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def fit_head(kind: str, embed: Embedder, windows: WindowSet, clips: Sequence[Clip], labels: np.ndarray,
             stats: Optional[ClipTable], n_classes: int, seed: int) -> UtteranceHead:
    """The head of ``kind`` fitted on the training clips' clean ``windows``; ``labels`` (len(clips),)
    the label index of every clip of the run."""
    head = UtteranceHead(FunctionalsModel(n_classes, seed), with_stats=kind == "utterance+stats")
    ids, x = head.inputs(embed, windows, stats)
    head.model.fit(ClipTable(ids, x, labels[ids]), clips)
    return head


def run_head(config, model, data) -> tuple[UtteranceHead | FusionHead, Embedder, Optional[ClipTable]]:
    """The head of ``config.model.head`` for a trained network and its prepared ``data``: (head,
    what it reads windows with (the embedder; for fusion the network's scores), every clip's
    functionals or None)."""
    from ser_train.fit.functionals import clip_table

    kind = config.model.head
    stats = clip_table(config, data.clips, data.split, data.label_set) if kind in ("utterance+stats", "fusion") else None
    if kind == "fusion":
        train = stats.part(data.clips, data.split, "train")
        head = FusionHead(FunctionalsModel(len(data.label_set.labels), config.seed).fit(train, data.clips))
        return head, lambda x: model.predict(x, batch_size=256, verbose=0), stats
    labels = np.array([data.label_set.index_of(c.emotion) for c in data.clips], dtype=np.int64)
    embed = embedder(model)
    head = fit_head(kind, embed, data.windows["train_clean"], data.clips, labels, stats,
                    len(data.label_set.labels), config.seed)
    return head, embed, stats


def head_report(head: UtteranceHead | FusionHead, embed: Embedder, stats: Optional[ClipTable], windows: WindowSet,
                data) -> Optional[dict]:
    """Clip-level figures (`ser_train.metrics.report`) of the head on ``windows``; None if empty."""
    from ser_train.metrics import report

    ids, scores = head.scores(embed, windows, stats)
    if len(ids) == 0:
        return None
    truth = np.array([data.label_set.index_of(data.clips[i].emotion) for i in ids])
    return report(truth, scores.argmax(axis=1), data.label_set.labels)


#: a fusion run's device head (the manifest's ``utterance`` entry) and its held-out clips' vectors
DEVICE_HEAD_FILE = "utterance.json"
VECTORS_FILE = "utterance-vectors.npz"


def device_head(head: FusionHead, train: ClipTable):
    """The fusion head as the device runs it (`ser_edge.model.utterance.UtteranceHead`): the
    regression with its standardisation folded into weight (classes, d) and bias, and the training
    speakers' raw vectors' mean and sd as the population prior of the speaker's statistics."""
    from ser_edge.model.utterance import UtteranceHead

    model = head.model
    regression = model.regression
    coef, intercept = regression.coef_ / model.sd, regression.intercept_ - (regression.coef_ / model.sd) @ model.mean
    if coef.shape[0] == 1:  # two classes: sklearn keeps one logit, for the second class
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    weight = np.zeros((model.n_classes, coef.shape[1]))
    bias = np.full(model.n_classes, -30.0)  # a class absent from training: probability ~0, floored
    weight[regression.classes_], bias[regression.classes_] = coef, intercept
    raw = np.asarray(train.raw, dtype=np.float64)
    return UtteranceHead(weight, bias, raw.mean(axis=0), np.maximum(raw.std(axis=0), 1e-6), floor=head.floor)


def save_fusion(run_dir, head: FusionHead, stats: ClipTable, data) -> None:
    """Write a fusion run's `DEVICE_HEAD_FILE` and the z-scored vectors of its validation and test
    clips (`VECTORS_FILE`: ``numbers`` (n,) int64 clip positions, ``z`` (n, d) float64), which
    `ser-convert` decides the held-out clips with, int8 windows and all."""
    import json
    from pathlib import Path

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    entry = device_head(head, stats.part(data.clips, data.split, "train")).to_dict()
    (run_dir / DEVICE_HEAD_FILE).write_text(json.dumps(entry) + "\n")
    held = [stats.part(data.clips, data.split, p) for p in ("validation", "test")]
    np.savez(run_dir / VECTORS_FILE, numbers=np.concatenate([t.numbers for t in held]).astype(np.int64),
             z=np.vstack([t.x for t in held]) if any(len(t.numbers) for t in held) else np.zeros((0, stats.x.shape[1])))

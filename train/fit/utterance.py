"""The utterance head (`--head utterance` or `utterance+stats`): one decision per clip from all of
its windows at once, instead of the average of each window's own decision.

After the network is trained on windows, each window's embedding (the network's time-pooled last
block, layer ``time_pool``, (d,)) is taken; a clip's input is the mean and sd of its windows'
embeddings (2d), and with ``utterance+stats`` also its speaker-normalised functionals
(`ser_train.fit.functionals`: MFCC and, where the front end has them, prosodic statistics). A
multinomial logistic regression on the training speakers' clean clips decides. Emotion lives in
how a voice moves over a whole utterance; a 1.5 s window sees little of it.
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


def fit_head(kind: str, embed: Embedder, windows: WindowSet, clips: Sequence[Clip], labels: np.ndarray,
             stats: Optional[ClipTable], n_classes: int, seed: int) -> UtteranceHead:
    """The head of ``kind`` fitted on the training clips' clean ``windows``; ``labels`` (len(clips),)
    the label index of every clip of the run."""
    head = UtteranceHead(FunctionalsModel(n_classes, seed), with_stats=kind == "utterance+stats")
    ids, x = head.inputs(embed, windows, stats)
    head.model.fit(ClipTable(ids, x, labels[ids]), clips)
    return head


def run_head(config, model, data) -> tuple[UtteranceHead, Embedder, Optional[ClipTable]]:
    """The head of ``config.model.head`` for a trained network and its prepared ``data``: (head,
    the embedder, every clip's functionals or None)."""
    from ser_train.fit.functionals import clip_table

    kind = config.model.head
    stats = clip_table(config, data.clips, data.split, data.label_set) if kind == "utterance+stats" else None
    labels = np.array([data.label_set.index_of(c.emotion) for c in data.clips], dtype=np.int64)
    embed = embedder(model)
    head = fit_head(kind, embed, data.windows["train_clean"], data.clips, labels, stats,
                    len(data.label_set.labels), config.seed)
    return head, embed, stats


def head_report(head: UtteranceHead, embed: Embedder, stats: Optional[ClipTable], windows: WindowSet,
                data) -> Optional[dict]:
    """Clip-level figures (`ser_train.metrics.report`) of the head on ``windows``; None if empty."""
    from ser_train.metrics import report

    ids, scores = head.scores(embed, windows, stats)
    if len(ids) == 0:
        return None
    truth = np.array([data.label_set.index_of(data.clips[i].emotion) for i in ids])
    return report(truth, scores.argmax(axis=1), data.label_set.labels)

"""Which clips side_by_side.py classifies: a model's labelled clips and its held-out speakers' order."""

from __future__ import annotations

import random
from pathlib import Path

from ser_edge.errors import ConfigError
from ser_train.data.corpora import index_folders
from ser_train.evaluate.clips import label_set_for

#: seeds each held-out speaker's clip order
SHUFFLE_SEED = 0


def labelled_clips(data: Path, labels, speakers: set) -> list:
    """(Clip, label index) of every clip in the model's label set in the corpora ``speakers`` name
    ("emovo:f3" -> data/emovo); ConfigError naming a corpus folder that is missing."""
    label_set = label_set_for(labels)
    folders = [data / corpus for corpus in sorted({s.split(":", 1)[0] for s in speakers})]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise ConfigError(f"corpus folder(s) {', '.join(missing)} not found: the model's speakers come from "
                          f"{', '.join(f.name for f in folders)} (pass --data DIR holding them)")
    indexed = ((c, label_set.index_of(c.emotion)) for c in index_folders(folders).clips)
    return [(c, y) for c, y in indexed if y is not None]


def held_out_order(test: list, max_clips: int = 0) -> list:
    """(path, label, speaker) grouped by speaker (sorted), each speaker's clips in a fixed shuffled
    order (seed 0: a device hears a speaker's emotions mixed, not the corpus's file order), at
    most ``max_clips`` per speaker (0: all)."""
    out = []
    for speaker in sorted({s for _, _, s in test}):
        mine = sorted(t for t in test if t[2] == speaker)
        random.Random(f"{SHUFFLE_SEED}:{speaker}").shuffle(mine)
        out += mine[:max_clips or None]
    return out

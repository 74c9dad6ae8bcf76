"""Counts and a plain-text summary of an indexed corpus (what `ser-train data` prints).

Names come from folders, file names and CSV columns: every cell and line is shown with its
control characters escaped (`ser_edge.errors.one_line`, paths quoted by `shown`, as the device
side shows them), so a name cannot clear the screen, recolour it or forge a line.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence

from ser_edge.errors import one_line, shown
from ser_train.data.corpora import CORPORA, Clip, IndexResult
from ser_train.data.labels import LabelSet, get_label_set


def count_clips(clips: Iterable[Clip], label_set: Optional[LabelSet] = None) -> Dict[str, Counter]:
    """Counters keyed ``corpus``, ``speaker``, ``emotion``, ``label`` (after the
    label set, default 7class), ``left_out`` (emotions outside it) and
    ``corpus_label`` / ``corpus_left_out`` (keys are ``(corpus, name)``)."""
    label_set = label_set or get_label_set()
    counts: Dict[str, Counter] = {k: Counter() for k in
                                  ("corpus", "speaker", "emotion", "label", "left_out", "corpus_label", "corpus_left_out")}
    for clip in clips:
        counts["corpus"][clip.corpus] += 1
        counts["speaker"][clip.speaker] += 1
        counts["emotion"][clip.emotion] += 1
        label = label_set.label_of(clip.emotion)
        kind = "left_out" if label is None else "label"
        counts[kind][label or clip.emotion] += 1
        counts[f"corpus_{kind}"][(clip.corpus, label or clip.emotion)] += 1
    return counts


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> List[str]:
    """Plain-text columns: the first left-aligned, numbers right-aligned."""
    cells = [[one_line(str(c)) for c in header]] + [[one_line(str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
            for row in cells]


def _corpus_order(corpus: str) -> tuple:
    """Known corpora in `CORPORA` order, then own data by name."""
    return (CORPORA.index(corpus), "") if corpus in CORPORA else (len(CORPORA), corpus)


def _merged(clips: Sequence[Clip], label_set: LabelSet) -> List[str]:
    """A line per emotion folded into another label (``calm`` -> ``neutral``), naming the corpora that have it."""
    lines = []
    for emotion in (e for e in label_set.mapping if label_set.mapping[e] not in (None, e)):
        corpora = sorted({c.corpus for c in clips if c.emotion == emotion}, key=_corpus_order)
        if corpora:
            lines.append(f"{emotion} ({', '.join(corpora)}) counts as {label_set.mapping[emotion]} in {label_set.name}")
    return [""] + lines if lines else []


def format_summary(index: IndexResult, label_set: Optional[LabelSet] = None) -> str:
    """A plain-text report: clips by corpus, by label (after ``label_set``) and
    by speaker, clips left out as outside the set, and the problem files."""
    label_set = label_set or get_label_set()
    counts = count_clips(index.clips, label_set)
    corpora = sorted(counts["corpus"], key=_corpus_order)
    speakers = Counter(s.split(":")[0] for s in counts["speaker"])
    left_out = sum(counts["left_out"].values())
    lines = [f"{len(index.clips)} clips, {len(index.problems)} problem files, {len(index.ignored)} other files ignored",
             f"label set {label_set.name}: {len(index.clips) - left_out} clips used, {left_out} left out (outside the set)",
             ""]
    lines += _table(["corpus", "speakers", "clips"], [[c, speakers[c], counts["corpus"][c]] for c in corpora]
                    + [["total", sum(speakers.values()), len(index.clips)]])
    rows = [[label, *(counts["corpus_label"][(c, label)] for c in corpora), counts["label"][label]]
            for label in label_set.labels]
    rows += [[f"{e} (left out)", *(counts["corpus_left_out"][(c, e)] for c in corpora), counts["left_out"][e]]
             for e in label_set.excluded() if counts["left_out"][e]]
    lines += ["", *_table([f"label ({label_set.name})", *corpora, "total"], rows)]
    lines += _merged(index.clips, label_set)
    by_corpus = sorted(counts["speaker"].items(), key=lambda kv: (_corpus_order(kv[0].split(":")[0]), kv[0]))
    lines += ["", *_table(["speaker", "clips"], by_corpus)]
    unknown = sum(1 for c in index.clips if not c.speaker_known)
    if unknown:
        lines += ["", f"{unknown} clips have no speaker: for balancing each file counts as one speaker; "
                      "for splits each folder ([...] above) is one speaker"]
    if index.problems:
        lines += ["", f"problem files ({len(index.problems)}):"]
        lines += [f"  {shown(p.path)}: {p.reason}" for p in index.problems]
    return "\n".join(one_line(line) for line in lines)  # corpus and emotion names too

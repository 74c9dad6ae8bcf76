"""The shared vocabulary of the corpus parsers: `Clip`, `Problem`, the corpus table and the
reading of one name (`parse_clip`).

Both indexers stand on this module: `ser_train.data.corpora` (corpus folders) and
`ser_train.data.owndata` (a CSV or label-named folders, whose files may still carry corpus
names). Neither imports the other in a loop. Nothing here opens an audio file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Tuple, Union

from ser_train.data.corpus_names import PARSERS, PREFIX, Reject

# The order of tables and of the folds' random draws: a corpus added to the shared data goes after
# the ones already there, so that their folds stay as they were (tests/train/data/test_folds.py).
CORPORA: Tuple[str, ...] = ("ravdess", "tess", "emovo", "turev", "nemo", "cremad", "savee", "emodb")
AUDIO_EXTENSIONS: Tuple[str, ...] = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")
_EXAMPLES = ("RAVDESS 03-01-05-01-01-01-01, TESS OAF_back_angry, EMOVO dis-f1-b1, TurEV-DB 1157_kz_acik, "
             "CREMA-D 1001_DFA_ANG_XX, SAVEE DC_a01 or DC/a01, EmoDB 03a01Fa, nEMO EB0_anger_1")


@dataclass(frozen=True)
class Clip:
    """One labelled recording. ``speaker`` is namespaced (``"tess:OAF"``) so that
    speakers never collide across corpora; ``emotion`` is a canonical name from
    `ser_train.data.labels.EMOTIONS`; ``clip_id`` identifies the recording within its
    corpus whatever the file is called, so copies of one recording can be found."""

    path: Path
    corpus: str
    speaker: str
    emotion: str
    intensity: Optional[str] = None  # RAVDESS normal/strong, CREMA-D low/medium/high
    clip_id: str = ""
    # False for own data without a speaker column: ``speaker`` is then the whole
    # source (one group for splits) and each file weighs as its own speaker in balancing.
    speaker_known: bool = True

    @property
    def balance_key(self) -> str:
        """Who this clip counts as when speakers are balanced: the speaker, or the file itself."""
        return self.speaker if self.speaker_known else f"{self.speaker}:{self.path}"


class Problem(NamedTuple):
    """An audio file that was not indexed, and why."""

    path: Path
    reason: str


def parse_clip(path: Union[str, Path]) -> Union[Clip, Problem]:
    """Label one file from its name (any extension), or say why it cannot be."""
    result = parse_corpus_name(path)
    return Problem(Path(path), f"name matches no known corpus (expected e.g. {_EXAMPLES})") if result is None else result


def parse_corpus_name(path: Union[str, Path]) -> Union[Clip, Problem, None]:
    """`parse_clip`, but None when the name has no corpus's shape at all (own data may then label it)."""
    path = Path(path)
    stem, folder = path.stem, path.parent.name
    prefix = PREFIX.fullmatch(stem)
    names = list(PARSERS)
    if prefix:  # a corpus prefix restricts the name to that corpus
        names, stem = [prefix.group(1).lower().replace("-", "")], prefix.group(2)
    for corpus in names:
        shape, read = PARSERS[corpus]
        match = shape(stem, folder)
        if match is None:
            continue
        try:
            speaker, emotion, intensity, clip_id = read(match, folder)
        except Reject as err:
            return Problem(path, f"{corpus} name {stem!r}: {err}")
        return Clip(path, corpus, speaker, emotion, intensity, clip_id)
    if prefix:
        return Problem(path, f"prefix {prefix.group(1)!r} but {stem!r} is not a {names[0]} name")
    return None

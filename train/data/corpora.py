"""Index emotional speech corpora by their own file names, and users' own data.

Eight corpora are recognised from the file name alone (plus the folder for
SAVEE's original layout and TurEV-DB's cross-check): RAVDESS
``03-01-05-01-01-01-01``, TESS ``OAF_back_angry``, CREMA-D ``1001_DFA_ANG_XX``,
SAVEE ``DC_a01`` or ``DC/a01``, Berlin EmoDB ``03a01Fa``, EMOVO ``dis-f1-b1``,
TurEV-DB ``Angry/1157_kz_acik`` and nEMO ``EB0_anger_1`` (parsers in
`ser_train.data.corpus_names`). A
name may also carry a corpus prefix (``tess_YAF_germ_angry``, as in the shared
``quirks/`` folder); it is then read as a name of that corpus only. A name that
fits no corpus is reported with a reason, never guessed. Users' own recordings
come as a CSV ``path,label[,speaker]`` or a folder of label-named folders
(`ser_train.data.owndata`). `Clip`, `Problem`, `CORPORA` and `parse_clip` are defined in
`ser_train.data.clips`, which both indexers import, and are importable from here too.
Nothing here opens an audio file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple, Union

from ser_edge.errors import ConfigError
from ser_train.data import owndata
from ser_train.data.clips import AUDIO_EXTENSIONS, CORPORA, Clip, Problem, parse_clip, parse_corpus_name
from ser_train.data.corpus_names import PREFIX

__all__ = ["AUDIO_EXTENSIONS", "CORPORA", "Clip", "IndexResult", "Problem", "index_folders", "parse_clip",
           "parse_corpus_name"]


@dataclass(frozen=True)
class IndexResult:
    """Labelled clips, audio files left unlabelled, and non-audio files skipped."""

    clips: Tuple[Clip, ...]
    problems: Tuple[Problem, ...]
    ignored: Tuple[Path, ...]


def _walk(root: Path, problems: List[Problem]) -> Iterable[Path]:
    """Files under ``root``, sorted; hidden folders (``.git``) are not entered.
    An unreadable folder becomes a problem instead of stopping the walk."""
    def unreadable(err: OSError) -> None:
        problems.append(Problem(Path(err.filename or root), f"cannot list folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _drop_copies(clips: List[Clip]) -> Tuple[List[Clip], List[Problem]]:
    """Keep one file per recording, preferring the corpus's own name over a
    prefixed copy (``quirks/ravdess_*.wav`` beside ``ravdess/``), then the first."""
    best: Dict[Tuple[str, str], Clip] = {}
    for clip in clips:
        kept = best.get(_recording(clip))
        if kept is None or (PREFIX.fullmatch(kept.path.stem) and not PREFIX.fullmatch(clip.path.stem)):
            best[_recording(clip)] = clip
    unique = [c for c in clips if best[_recording(c)] is c]
    copies = [Problem(c.path, f"another copy of {c.corpus} {c.clip_id}, indexed as {best[_recording(c)].path}")
              for c in clips if best[_recording(c)] is not c]
    return unique, copies


def _recording(clip: Clip) -> Tuple[str, str]:
    return clip.corpus, clip.clip_id.lower()


def index_folders(
    dirs: Union[str, Path, Iterable[Union[str, Path]]],
    *,
    extensions: Sequence[str] = AUDIO_EXTENSIONS,
) -> IndexResult:
    """Walk ``dirs`` recursively and label every audio file by its name.

    An entry of ``dirs`` may also be own data (`ser_train.data.owndata`): a ``.csv``
    file, or a folder whose sub-folders are all label names. Files whose
    extension is not in ``extensions`` (case-insensitive), and hidden files, are
    listed in ``ignored``. Unlabelled audio files, bad CSV rows and second copies
    of a recording go to ``problems``; one bad name never stops the run. A
    missing folder or CSV is a ConfigError.
    """
    roots = [Path(dirs)] if isinstance(dirs, (str, Path)) else [Path(d) for d in dirs]
    for root in roots:
        if not (root.is_dir() or (root.is_file() and root.suffix.lower() == ".csv")):
            what = "is not a folder or a .csv file" if root.exists() else "does not exist"
            raise ConfigError(f"data folder {str(root)!r} {what}")
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    clips: List[Clip] = []
    problems: List[Problem] = []
    ignored: List[Path] = []
    seen = set()
    for root in roots:
        if root.is_file():
            listed, bad = owndata.read_csv(root, wanted)
            clips += [c for c in listed if c.path.resolve() not in seen]
            seen.update(c.path.resolve() for c in listed)
            problems += bad
            continue
        layout = owndata.is_label_layout(root)
        corpus = owndata.corpus_name(root)
        for path in _walk(root, problems):
            real = path.resolve()
            if real in seen:  # overlapping folders: one file, one entry
                continue
            seen.add(real)
            if path.name.startswith(".") or path.suffix.lower() not in wanted:
                ignored.append(path)
                continue
            result = owndata.label_folder_clip(path, root, corpus) if layout else parse_clip(path)
            (clips if isinstance(result, Clip) else problems).append(result)
    clips, copies = _drop_copies(clips)
    return IndexResult(tuple(clips), tuple(problems + copies), tuple(ignored))

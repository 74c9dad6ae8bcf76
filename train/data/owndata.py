"""Users' own recordings: a CSV ``path,label[,speaker]`` or a folder of label-named folders.

CSV: a header row naming at least ``path`` and ``label`` (``speaker`` optional, other
columns ignored, any order, case-insensitive); paths are relative to the CSV's folder
(absolute paths work too). Folder layout: every sub-folder of the root is named by a
label (``angry/x.wav``, ``Joy/y.flac``); files may sit in deeper folders below it.
Labels are read through the alias table `ser_train.data.labels.ALIASES` (case-insensitive).

A bad row (empty path, unknown label, missing or non-audio file, a file listed twice)
becomes a `Problem` with its line number and reason; the other rows are still read.

Clips without a speaker get ``speaker_known=False``. For splits they are grouped by
folder (the file's folder relative to the CSV, or below the label folder), so that a
whole folder lands on one side; speaker ids then look like ``calls:[day1]`` or
``calls:[.]``. For class+speaker balancing each such file counts as its own speaker.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Collection, List, Optional, Tuple, Union

from ser_edge.errors import ConfigError
from ser_train.data.clips import CORPORA, Clip, Problem, parse_corpus_name
from ser_train.data.labels import EMOTIONS, emotion_of_word


def corpus_name(source: Path) -> str:
    """The corpus name of a CSV or folder of own data: its name, lower case (``own-`` if it
    would collide with a corpus this package parses)."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(source).stem.lower()).strip("-") or "own"
    return f"own-{slug}" if slug in CORPORA else slug


def _group(corpus: str, folder: Path) -> str:
    """The split group of speaker-less clips in ``folder`` (relative, ``.`` for the top)."""
    return f"{corpus}:[{folder.as_posix() or '.'}]"


def _label_error(label: str) -> str:
    return f"unknown label {label!r} (known: the {len(EMOTIONS)} emotions {', '.join(EMOTIONS)} and their aliases; see docs/TRAINING.md)"


def is_label_layout(root: Path) -> bool:
    """True when ``root``'s sub-folders (hidden ones aside) are all label words, and there is one."""
    try:
        folders = [p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return False
    return bool(folders) and all(emotion_of_word(p.name) is not None for p in folders)


def label_folder_clip(path: Path, root: Path, corpus: str) -> Union[Clip, Problem]:
    """A file under a label-layout ``root``: a corpus name is read as such (TurEV-DB's own
    layout is ``Angry/1157_kz_acik``) and must agree with its folder; any other name takes
    the top folder's label, speaker unknown."""
    parsed = parse_corpus_name(path)
    parts = path.relative_to(root).parts
    emotion = emotion_of_word(parts[0]) if len(parts) > 1 else None
    if isinstance(parsed, Clip) and emotion is not None and parsed.emotion != emotion:
        return Problem(path, f"{parsed.corpus} name says {parsed.emotion} but folder {parts[0]!r} says {emotion}")
    if parsed is not None:
        return parsed
    if len(parts) < 2:
        return Problem(path, f"not inside a label-named folder of {root}")
    if emotion is None:  # is_label_layout said every top folder is a label
        return Problem(path, _label_error(parts[0]))
    folder = Path(*parts[1:-1]) if len(parts) > 2 else Path("")
    return Clip(path, corpus, _group(corpus, folder), emotion, None, Path(*parts).as_posix(), speaker_known=False)


def _header(reader: csv.DictReader, csv_path: Path) -> Tuple[str, str, Optional[str]]:
    """The CSV's own spellings of the path, label and speaker columns."""
    names = {(name or "").strip().lower(): name for name in (reader.fieldnames or [])}
    missing = [c for c in ("path", "label") if c not in names]
    if missing:
        raise ConfigError(f"{csv_path}: the header must name the columns path,label[,speaker]; "
                          f"missing {', '.join(missing)} (found: {', '.join(map(str, reader.fieldnames or [])) or 'nothing'})")
    return names["path"], names["label"], names.get("speaker")


def read_csv(csv_path: Path, extensions: Collection[str]) -> Tuple[List[Clip], List[Problem]]:
    """Clips listed in ``csv_path`` and a `Problem` per bad row (``extensions``: lower case, with dot)."""
    csv_path = Path(csv_path)
    corpus = corpus_name(csv_path)
    clips: List[Clip] = []
    problems: List[Problem] = []
    first_line: dict[Path, int] = {}
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            path_col, label_col, speaker_col = _header(reader, csv_path)
            for row in reader:
                line = reader.line_num
                result = _row(row, line, csv_path, corpus, (path_col, label_col, speaker_col), extensions, first_line)
                (clips if isinstance(result, Clip) else problems).append(result)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{csv_path}: cannot read it as a CSV file ({exc})") from None
    return clips, problems


def _row(row: dict, line: int, csv_path: Path, corpus: str, columns: Tuple[str, str, Optional[str]],
         extensions: Collection[str], first_line: dict) -> Union[Clip, Problem]:
    """One CSV row as a clip, or the reason it cannot be one."""
    path_col, label_col, speaker_col = columns
    where = f"{csv_path.name} line {line}"
    text = (row.get(path_col) or "").strip()
    if not text:
        return Problem(csv_path, f"{where}: empty path")
    path = csv_path.parent / text
    label = (row.get(label_col) or "").strip()
    emotion = emotion_of_word(label)
    if emotion is None:
        return Problem(path, f"{where}: {_label_error(label)}" if label else f"{where}: empty label")
    if not path.is_file():
        return Problem(path, f"{where}: {'not a file' if path.exists() else 'file not found'}")
    if path.suffix.lower() not in extensions:
        return Problem(path, f"{where}: not an audio file (allowed: {', '.join(sorted(extensions))})")
    real = path.resolve()
    if real in first_line:
        return Problem(path, f"{where}: listed again (first on line {first_line[real]})")
    first_line[real] = line
    speaker = (row.get(speaker_col) or "").strip() if speaker_col else ""
    relative = Path(text).parent if not Path(text).is_absolute() else path.parent
    clip_id = Path(text).as_posix()
    if speaker:
        return Clip(path, corpus, f"{corpus}:{speaker}", emotion, None, clip_id)
    return Clip(path, corpus, _group(corpus, relative), emotion, None, clip_id, speaker_known=False)

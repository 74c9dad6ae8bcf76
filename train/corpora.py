"""Index emotional speech corpora by their own file names.

Five corpora are recognised from the file name alone (plus the folder for
SAVEE's original layout): RAVDESS ``03-01-05-01-01-01-01``, TESS
``OAF_back_angry``, CREMA-D ``1001_DFA_ANG_XX``, SAVEE ``DC_a01`` or ``DC/a01``
and Berlin EmoDB ``03a01Fa``. A name may also carry a corpus prefix
(``tess_YAF_germ_angry``, as in the shared ``quirks/`` folder); it is then read
as a name of that corpus only. A name that fits no corpus is reported with a
reason, never guessed. Nothing here opens an audio file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

from ser_edge.errors import ConfigError


CORPORA: Tuple[str, ...] = ("ravdess", "tess", "cremad", "savee", "emodb")
AUDIO_EXTENSIONS: Tuple[str, ...] = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")
_EXAMPLES = "RAVDESS 03-01-05-01-01-01-01, TESS OAF_back_angry, CREMA-D 1001_DFA_ANG_XX, SAVEE DC_a01 or DC/a01, EmoDB 03a01Fa"


@dataclass(frozen=True)
class Clip:
    """One labelled recording. ``speaker`` is namespaced (``"tess:OAF"``) so that
    speakers never collide across corpora; ``emotion`` is a canonical name from
    `ser_train.labels.EMOTIONS`; ``clip_id`` identifies the recording within its
    corpus whatever the file is called, so copies of one recording can be found."""

    path: Path
    corpus: str
    speaker: str
    emotion: str
    intensity: Optional[str] = None  # RAVDESS normal/strong, CREMA-D low/medium/high
    clip_id: str = ""


class Problem(NamedTuple):
    """An audio file that was not indexed, and why."""

    path: Path
    reason: str


# What a corpus parser reads from a name: speaker, emotion, intensity, clip id.
_Fields = Tuple[str, str, Optional[str], str]


class _Reject(Exception):
    """A name has a corpus's shape but a field that corpus does not use."""


def _code(table: Dict[str, Optional[str]], value: str, what: str) -> Optional[str]:
    """Look ``value`` up in a corpus code table, rejecting unknown codes by name."""
    if value not in table:
        raise _Reject(f"unknown {what} {value!r} (known: {', '.join(table)})")
    return table[value]


# --- RAVDESS: modality-channel-emotion-intensity-statement-repetition-actor
_RAVDESS = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)")
_RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                     "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}


def _ravdess(m: re.Match, folder: str) -> _Fields:
    modality, channel, emotion, intensity, statement, repetition, actor = m.groups()
    if modality != "03":
        kind = {"01": "full audio-video", "02": "video-only"}.get(modality, "unknown")
        raise _Reject(f"not used: modality {modality} is {kind}; only 03 (audio-only) is indexed")
    if channel != "01":
        kind = "song" if channel == "02" else "unknown"
        raise _Reject(f"not used: vocal channel {channel} is {kind}; only 01 (speech) is indexed")
    emotion_name = _code(_RAVDESS_EMOTIONS, emotion, "emotion code")
    strength = _code({"01": "normal", "02": "strong"}, intensity, "intensity")
    if emotion_name == "neutral" and strength == "strong":
        raise _Reject("neutral has no strong intensity in RAVDESS")
    if statement not in ("01", "02") or repetition not in ("01", "02") or not "01" <= actor <= "24":
        raise _Reject("statement and repetition must be 01-02 and actor 01-24")
    return f"ravdess:{actor}", emotion_name, strength, m.group(0)


# --- TESS: speaker_word_emotion; "OA_bite_neutral" is an OAF clip
_TESS = re.compile(r"(OAF|YAF|OA)_(.+)_([a-z]+)", re.IGNORECASE)
_TESS_EMOTIONS = {"angry": "angry", "disgust": "disgust", "fear": "fearful", "happy": "happy",
                  "neutral": "neutral", "ps": "surprised", "sad": "sad"}
# Folder names differ in case and wording: OAF_Fear, YAF_pleasant_surprised...
_TESS_FOLDER = re.compile(r"(OAF|YAF)_(.+)", re.IGNORECASE)
_TESS_FOLDER_EMOTIONS = {**_TESS_EMOTIONS, "pleasant_surprise": "surprised", "pleasant_surprised": "surprised"}


def _tess(m: re.Match, folder: str) -> _Fields:
    speaker = "OAF" if m.group(1).upper() == "OA" else m.group(1).upper()
    word, token = m.group(2).lower(), m.group(3).lower()
    emotion = _code(_TESS_EMOTIONS, token, "emotion")
    # The folder is only a cross-check: a clip filed under another emotion or
    # speaker is reported, since either the name or the folder is wrong.
    fm = _TESS_FOLDER.fullmatch(folder)
    if fm and fm.group(2).lower() in _TESS_FOLDER_EMOTIONS:
        folder_speaker, folder_emotion = fm.group(1).upper(), _TESS_FOLDER_EMOTIONS[fm.group(2).lower()]
        if (folder_speaker, folder_emotion) != (speaker, emotion):
            raise _Reject(f"name says {speaker} {emotion} but folder {folder!r} says {folder_speaker} {folder_emotion}")
    return f"tess:{speaker}", emotion, None, f"{speaker}_{word}_{token}"


# --- CREMA-D: actor_sentence_emotion_level
_CREMAD = re.compile(r"(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})", re.IGNORECASE)
_CREMAD_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
_CREMAD_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
_CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": None}  # XX: not specified


def _cremad(m: re.Match, folder: str) -> _Fields:
    actor, sentence, emotion, level = m.group(1), *(g.upper() for g in m.groups()[1:])
    if not 1001 <= int(actor) <= 1091:
        raise _Reject(f"actor {actor} is outside 1001-1091")
    if sentence not in _CREMAD_SENTENCES:
        raise _Reject(f"unknown sentence code {sentence!r}")
    emotion_name = _code(_CREMAD_EMOTIONS, emotion, "emotion code")
    intensity = _code(_CREMAD_LEVELS, level, "level")
    clip_id = f"{actor}_{sentence}_{emotion}_{level}"
    return f"cremad:{actor}", emotion_name, intensity, clip_id


# --- SAVEE: DC_a01 flattened, or a01 inside the speaker folder DC
_SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
_SAVEE_FLAT = re.compile(r"(DC|JE|JK|KL)_([a-z]{1,2})(\d\d)", re.IGNORECASE)
_SAVEE_BARE = re.compile(r"([a-z]{1,2})(\d\d)", re.IGNORECASE)
_SAVEE_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fearful", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprised"}


def _savee_shape(stem: str, folder: str) -> Optional[re.Match]:
    """Flat names stand alone; bare ones (``a01``) need a speaker folder."""
    if folder.upper() in _SAVEE_SPEAKERS and _SAVEE_BARE.fullmatch(stem):
        return _SAVEE_FLAT.fullmatch(f"{folder}_{stem}")
    return _SAVEE_FLAT.fullmatch(stem)


def _savee(m: re.Match, folder: str) -> _Fields:
    speaker, code, number = m.group(1).upper(), m.group(2).lower(), m.group(3)
    emotion = _code(_SAVEE_EMOTIONS, code, "emotion code")
    return f"savee:{speaker}", emotion, None, f"{speaker}_{code}{number}"


# --- Berlin EmoDB: speaker, text, German emotion initial, version
_EMODB = re.compile(r"(\d\d)([a-z]\d\d)([a-z])([a-z])", re.IGNORECASE)
_EMODB_SPEAKERS = ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")
_EMODB_TEXTS = ("a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10")
_EMODB_EMOTIONS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fearful",
                   "F": "happy", "T": "sad", "N": "neutral"}


def _emodb(m: re.Match, folder: str) -> _Fields:
    speaker, text, letter, version = m.group(1), m.group(2).lower(), m.group(3).upper(), m.group(4).lower()
    if speaker not in _EMODB_SPEAKERS or text not in _EMODB_TEXTS:
        raise _Reject(f"speaker {speaker} or text {text} is not in EmoDB")
    emotion = _code(_EMODB_EMOTIONS, letter, "emotion letter")
    return f"emodb:{speaker}", emotion, None, f"{speaker}{text}{letter}{version}"


def _fullmatch(pattern: re.Pattern) -> Callable[[str, str], Optional[re.Match]]:
    return lambda stem, folder: pattern.fullmatch(stem)


# corpus -> (does the name have this corpus's shape?, read its fields)
_PARSERS = {
    "ravdess": (_fullmatch(_RAVDESS), _ravdess),
    "tess": (_fullmatch(_TESS), _tess),
    "cremad": (_fullmatch(_CREMAD), _cremad),
    "savee": (_savee_shape, _savee),
    "emodb": (_fullmatch(_EMODB), _emodb),
}
_PREFIX = re.compile(r"(ravdess|tess|crema-?d|savee|emodb)_(.+)", re.IGNORECASE)


def parse_clip(path: Union[str, Path]) -> Union[Clip, Problem]:
    """Label one file from its name (any extension), or say why it cannot be."""
    path = Path(path)
    stem, folder = path.stem, path.parent.name
    prefix = _PREFIX.fullmatch(stem)
    names = list(_PARSERS)
    if prefix:  # a corpus prefix restricts the name to that corpus
        names, stem = [prefix.group(1).lower().replace("-", "")], prefix.group(2)
    for corpus in names:
        shape, read = _PARSERS[corpus]
        match = shape(stem, folder)
        if match is None:
            continue
        try:
            speaker, emotion, intensity, clip_id = read(match, folder)
        except _Reject as err:
            return Problem(path, f"{corpus} name {stem!r}: {err}")
        return Clip(path, corpus, speaker, emotion, intensity, clip_id)
    if prefix:
        return Problem(path, f"prefix {prefix.group(1)!r} but {stem!r} is not a {names[0]} name")
    return Problem(path, f"name matches no known corpus (expected e.g. {_EXAMPLES})")


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
        if kept is None or (_PREFIX.fullmatch(kept.path.stem) and not _PREFIX.fullmatch(clip.path.stem)):
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

    Files whose extension is not in ``extensions`` (case-insensitive), and
    hidden files, are listed in ``ignored``. Unlabelled audio files and second
    copies of a recording go to ``problems``; one bad name never stops the run.
    A missing folder is a ConfigError.
    """
    roots = [Path(dirs)] if isinstance(dirs, (str, Path)) else [Path(d) for d in dirs]
    for root in roots:
        if not root.is_dir():
            raise ConfigError(f"data folder {str(root)!r} {'is not a folder' if root.exists() else 'does not exist'}")
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    clips: List[Clip] = []
    problems: List[Problem] = []
    ignored: List[Path] = []
    seen = set()
    for root in roots:
        for path in _walk(root, problems):
            real = path.resolve()
            if real in seen:  # overlapping folders: one file, one entry
                continue
            seen.add(real)
            if path.name.startswith(".") or path.suffix.lower() not in wanted:
                ignored.append(path)
                continue
            result = parse_clip(path)
            (clips if isinstance(result, Clip) else problems).append(result)
    clips, copies = _drop_copies(clips)
    return IndexResult(tuple(clips), tuple(problems + copies), tuple(ignored))

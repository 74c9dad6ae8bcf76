"""Corpus file-name parsers: what each corpus's own names say (speaker, emotion, take).

Eight corpora: RAVDESS ``03-01-05-01-01-01-01``, TESS ``OAF_back_angry``, CREMA-D
``1001_DFA_ANG_XX``, SAVEE ``DC_a01`` or ``DC/a01``, Berlin EmoDB ``03a01Fa``,
EMOVO ``dis-f1-b1``, TurEV-DB ``1157_kz_acik`` (in its emotion folder) and nEMO
``EB0_anger_1``. Each
parser gets the regex match of a file stem and the name of its folder and returns
(speaker, canonical emotion, intensity, clip id), or raises `Reject` with a reason.
`ser_train.data.corpora` tries them in `PARSERS` order; nothing here opens a file.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Optional, Tuple

from ser_train.data.labels import emotion_of_word

# What a corpus parser reads from a name: speaker, emotion, intensity, clip id.
_Fields = Tuple[str, str, Optional[str], str]


class Reject(Exception):
    """A name has a corpus's shape but a field that corpus does not use."""


def _code(table: Dict[str, Optional[str]], value: str, what: str) -> Optional[str]:
    """Look ``value`` up in a corpus code table, rejecting unknown codes by name."""
    if value not in table:
        raise Reject(f"unknown {what} {value!r} (known: {', '.join(table)})")
    return table[value]


# --- RAVDESS: modality-channel-emotion-intensity-statement-repetition-actor
_RAVDESS = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)")
_RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                     "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}


def _ravdess(m: re.Match, folder: str) -> _Fields:
    modality, channel, emotion, intensity, statement, repetition, actor = m.groups()
    if modality != "03":
        kind = {"01": "full audio-video", "02": "video-only"}.get(modality, "unknown")
        raise Reject(f"not used: modality {modality} is {kind}; only 03 (audio-only) is indexed")
    if channel != "01":
        kind = "song" if channel == "02" else "unknown"
        raise Reject(f"not used: vocal channel {channel} is {kind}; only 01 (speech) is indexed")
    emotion_name = _code(_RAVDESS_EMOTIONS, emotion, "emotion code")
    strength = _code({"01": "normal", "02": "strong"}, intensity, "intensity")
    if emotion_name == "neutral" and strength == "strong":
        raise Reject("neutral has no strong intensity in RAVDESS")
    if statement not in ("01", "02") or repetition not in ("01", "02") or not "01" <= actor <= "24":
        raise Reject("statement and repetition must be 01-02 and actor 01-24")
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
            raise Reject(f"name says {speaker} {emotion} but folder {folder!r} says {folder_speaker} {folder_emotion}")
    return f"tess:{speaker}", emotion, None, f"{speaker}_{word}_{token}"


# --- CREMA-D: actor_sentence_emotion_level
_CREMAD = re.compile(r"(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})", re.IGNORECASE)
_CREMAD_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
_CREMAD_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
_CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": None}  # XX: not specified


def _cremad(m: re.Match, folder: str) -> _Fields:
    actor, sentence, emotion, level = m.group(1), *(g.upper() for g in m.groups()[1:])
    if not 1001 <= int(actor) <= 1091:
        raise Reject(f"actor {actor} is outside 1001-1091")
    if sentence not in _CREMAD_SENTENCES:
        raise Reject(f"unknown sentence code {sentence!r}")
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
        raise Reject(f"speaker {speaker} or text {text} is not in EmoDB")
    emotion = _code(_EMODB_EMOTIONS, letter, "emotion letter")
    return f"emodb:{speaker}", emotion, None, f"{speaker}{text}{letter}{version}"


# --- EMOVO (Italian): emotion-speaker-sentence, Italian emotion codes
_EMOVO = re.compile(r"([a-z]{3})-([fm][1-3])-([bdln]\d)", re.IGNORECASE)
_EMOVO_EMOTIONS = {"dis": "disgust", "gio": "happy", "neu": "neutral", "pau": "fearful",
                   "rab": "angry", "sor": "surprised", "tri": "sad"}
_EMOVO_SENTENCES = ("b1", "b2", "b3", "d1", "d2", "l1", "l2", "l3", "l4", "n1", "n2", "n3", "n4", "n5")


def _emovo(m: re.Match, folder: str) -> _Fields:
    code, speaker, sentence = (g.lower() for g in m.groups())
    emotion = _code(_EMOVO_EMOTIONS, code, "emotion code")
    if sentence not in _EMOVO_SENTENCES:
        raise Reject(f"unknown sentence {sentence!r} (EMOVO has b1-b3, d1-d2, l1-l4, n1-n5)")
    return f"emovo:{speaker}", emotion, None, f"{code}-{speaker}-{sentence}"


# --- TurEV-DB (Turkish): speaker_emotion_word inside its emotion folder (Angry/, Calm/...)
_TUREV = re.compile(r"(\d{4})_([a-z]{2})_([^_]+)", re.IGNORECASE)
_TUREV_EMOTIONS = {"kz": "angry", "sk": "calm", "mt": "happy", "hl": "sad"}
_TUREV_FOLDERS = {"angry": "angry", "calm": "calm", "happy": "happy", "sad": "sad"}


def _turev(m: re.Match, folder: str) -> _Fields:
    speaker, code, word = m.group(1), m.group(2).lower(), m.group(3)
    emotion = _code(_TUREV_EMOTIONS, code, "emotion code")
    # As for TESS, the folder is a cross-check: a clip in another emotion's folder is reported.
    folder_emotion = _TUREV_FOLDERS.get(folder.lower())
    if folder_emotion is not None and folder_emotion != emotion:
        raise Reject(f"name says {emotion} ({code}) but folder {folder!r} says {folder_emotion}")
    return f"turev:{speaker}", emotion, None, f"{speaker}_{code}_{word.lower()}"


# --- nEMO (Polish): speaker_emotion_take; English emotion words, read through the alias table
_NEMO = re.compile(r"([a-z]{2}\d)_([a-z]+)_(\d+)", re.IGNORECASE)
_NEMO_SPEAKERS = ("EB0", "IC0", "KD0", "KS0", "MK0", "MP0", "SM0", "TP0", "WR0")
# nEMO's own emotion words (no disgust), mapped by the one alias table: happiness -> happy...
_NEMO_EMOTIONS = {word: emotion_of_word(word) for word in ("anger", "fear", "happiness", "neutral", "sadness", "surprised")}


def _nemo(m: re.Match, folder: str) -> _Fields:
    speaker, word, take = m.group(1).upper(), m.group(2).lower(), int(m.group(3))
    if speaker not in _NEMO_SPEAKERS:
        raise Reject(f"unknown speaker {speaker!r} (nEMO has {', '.join(_NEMO_SPEAKERS)})")
    emotion = _code(_NEMO_EMOTIONS, word, "emotion")
    if take < 1:
        raise Reject(f"take {take} (takes count from 1)")
    return f"nemo:{speaker}", emotion, None, f"{speaker}_{word}_{take}"


def _fullmatch(pattern: re.Pattern) -> Callable[[str, str], Optional[re.Match]]:
    return lambda stem, folder: pattern.fullmatch(stem)


# corpus -> (does the name have this corpus's shape?, read its fields)
PARSERS = {
    "ravdess": (_fullmatch(_RAVDESS), _ravdess),
    "tess": (_fullmatch(_TESS), _tess),
    "cremad": (_fullmatch(_CREMAD), _cremad),
    "savee": (_savee_shape, _savee),
    "emodb": (_fullmatch(_EMODB), _emodb),
    "emovo": (_fullmatch(_EMOVO), _emovo),
    "turev": (_fullmatch(_TUREV), _turev),
    "nemo": (_fullmatch(_NEMO), _nemo),
}
PREFIX = re.compile(r"(ravdess|tess|crema-?d|savee|emodb|emovo|turev|nemo)_(.+)", re.IGNORECASE)

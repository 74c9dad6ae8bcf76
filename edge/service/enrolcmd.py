"""`ser-edge enrol LABEL FILE... | --record LABEL | --list | --reset [LABEL]`: the user's own labelled clips.

The model and the files are found as `ser-edge listen` and `ser-edge adapt` find them
(``--config``, ``--model``, ``--state``): the enrolment lives beside the speaker statistics
(`ser_edge.service.enrolstore`). Every file is checked before anything is stored: one bad file
(unreadable, not a regular file, too large, too long, without 2 s of speech) or an unknown label
stores nothing, and each problem is named. ``--record`` takes the clip from the microphone
(`ser_edge.service.enrolrecord`). A running listener takes the new enrolment at SIGHUP.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import time
from pathlib import Path
from typing import Callable, Optional, Sequence, TextIO

from ser_edge.audio.read import load_audio
from ser_edge.errors import AudioError, ConfigError, SerEdgeError, shown
from ser_edge.listen.enrolment import EnrolledClip, Enrolment
from ser_edge.listen.recognizer import Recognizer
from ser_edge.smallfile import kind_of

from .adaptstore import default_state_path
from .enrolstore import EnrolStore, enrolment_path, file_sha256

#: largest audio file taken, bytes (a minute of 48 kHz stereo 32-bit WAV is 23 MB)
MAX_FILE_BYTES = 64 << 20


def open_enrolment(config_path: Optional[Path], model: Optional[Path], state: Optional[Path],
                   recognizer: Optional[Recognizer] = None) -> tuple[Recognizer, EnrolStore, str]:
    """(recognizer (the one given, else the model's) with its enrolment loaded from the store, store,
    what the load said)."""
    from ser_edge.config.load import load_settings

    settings = load_settings(config_path)
    if recognizer is None:
        recognizer = Recognizer(str(model) if model else (settings.model.path or None))
    store = EnrolStore(enrolment_path(Path(state) if state else default_state_path(settings.adaptation_state)))
    recognizer.enrolment, note = store.load(recognizer.labels, recognizer.bundle.sha256,
                                            lambda label, path: clip_of_file(recognizer, label, path))
    return recognizer, store, note


def clip_of_file(recognizer: Recognizer, label: str, path: Path) -> EnrolledClip:
    """The enrolled clip of one audio file (not added); AudioError naming the file for anything but a
    readable regular audio file of at most `MAX_FILE_BYTES` with at least 2 s of speech."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise AudioError(f"{shown(path)}: cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioError(f"{shown(path)}: is {kind_of(st.st_mode)}; allowed: a regular audio file")
    if st.st_size > MAX_FILE_BYTES:
        raise AudioError(f"{shown(path)}: {st.st_size / 2**20:.0f} MiB is too large for one clip "
                         f"(at most {MAX_FILE_BYTES >> 20} MiB)")
    x = load_audio(path, recognizer.params.sample_rate)
    clip = recognizer.enrol_clip(label, x, str(path))
    return dataclasses.replace(clip, source=str(Path(path).resolve()), source_sha256=file_sha256(path))


def enrol(recognizer: Recognizer, store: EnrolStore, label: str, files: Sequence[Path],
          report: Callable[[str], None]) -> tuple[dict, list[str]]:
    """Enrol ``files`` as ``label`` and save, only if every file is usable: (summary, problems);
    with a problem nothing is stored. ConfigError for an unknown label (before any file is read)."""
    if label not in recognizer.labels:
        raise ConfigError(f"label {label!r} is not one of this model's; allowed: {', '.join(recognizer.labels)}")
    clips, problems = [], []
    for path in files:
        try:
            clip = clip_of_file(recognizer, label, Path(path))
        except SerEdgeError as exc:
            problems.append(str(exc))
            report(str(exc))
            continue
        clips.append(clip)
        report(f"{shown(path)}: {clip.seconds:.1f} s, {clip.voiced_s:.1f} s of speech")
    if problems:
        return listing(recognizer.enrolment, store, f"nothing enrolled: {len(problems)} of {len(files)} file(s) "
                                                     "unusable"), problems
    for clip in clips:
        recognizer.enrolment.add(clip)
    store.save(recognizer.enrolment)
    return listing(recognizer.enrolment, store, f"enrolled {len(clips)} clip(s) as {label}"), []


def enrol_recorded(recognizer: Recognizer, store: EnrolStore, label: str, source, seconds: float, out: TextIO,
                   report: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> tuple[dict, list[str]]:
    """Record one clip from ``source`` (`enrolrecord.record`), save it in the clips folder beside the
    store and enrol it as `enrol` does (the saved file removed if that refuses it). ConfigError for
    an unknown label (before recording); AudioError, nothing saved, under 2 s of speech."""
    from .enrolrecord import clips_folder, record, remove_quietly, save_take

    if label not in recognizer.labels:
        raise ConfigError(f"label {label!r} is not one of this model's; allowed: {', '.join(recognizer.labels)}")
    source.open()  # a missing or busy microphone fails now, not after the countdown
    source.close()
    take = record(source, recognizer.params, seconds, out, sleep)
    take.check()
    path = save_take(take, clips_folder(store.path), label)
    report(f"saved {shown(path)}")
    summary, problems = enrol(recognizer, store, label, [path], report)
    if problems:
        remove_quietly(path)
    return summary, problems


def microphone(config_path: Optional[Path], sample_rate: int):
    """The microphone the [audio] settings name (whatever their ``source``), at ``sample_rate`` Hz."""
    from ser_edge.config.load import load_settings
    from ser_edge.sources import MicrophoneSource

    a = load_settings(config_path).audio
    return MicrophoneSource(sample_rate, device=a.device, device_rate=a.device_rate, channels=a.channels,
                            block_ms=a.block_ms, stall_timeout_s=a.stall_timeout_s)


def listing(enrolment: Enrolment, store: EnrolStore, note: str) -> dict:
    """What is enrolled, and where."""
    return {"enrolment_file": str(store.path), "note": note, **enrolment.summary()}


def reset(recognizer: Recognizer, store: EnrolStore, label: Optional[str]) -> dict:
    """Forget every clip, or those of ``label``; saved (ConfigError if it cannot be)."""
    gone = recognizer.enrolment.reset(label)
    store.save(recognizer.enrolment)
    return listing(recognizer.enrolment, store, f"forgot {gone} clip(s)" + (f" of {label}" if label else ""))


def format_listing(summary: dict) -> str:
    """Lines for a person: the file, each label's clips and seconds, whether the head acts."""
    lines = [f"enrolment: {summary['enrolment_file']}", summary["note"]]
    for label, c in summary["classes"].items():
        lines.append(f"  {label:<10} {c['clips']:>2} clip(s), {c['seconds']:.1f} s ({c['speech_s']:.1f} s of speech)")
    if not summary["classes"]:
        lines.append("  nothing enrolled")
    lines.append("personal head: " + ("on" if summary["active"] else f"off ({summary.get('needs', '')})"))
    return "\n".join(lines)

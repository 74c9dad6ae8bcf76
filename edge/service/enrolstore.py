"""The enrolment on disk: one small JSON file beside the speaker statistics (``enrolment.json``).

The same rules as the statistics file (`ser_edge.service.statefile`): only a regular file (or
nothing) at the path is read or replaced, anything else is a ConfigError; written atomically with
mode 0600 in a folder made 0700; at most `MAX_BYTES` read. It holds numbers, never audio: per
clip its label, its vector (`ser_edge.listen.enrolment`), its length and speech length, the
file's name and sha256, and when it was added.

The vectors hold the bundle's scores, so the file is tied to the bundle's model (its sha256).
After a bundle change the clips are enrolled again from their files where those are still there
unchanged (same sha256), and the file is rewritten; clips whose files are gone or changed are
dropped and named, so that the user can enrol them again. A file that cannot be parsed, is not
ours or holds vectors of the wrong length is set aside as ``<name>.corrupt-<time>`` with a
warning: it is never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ser_edge.errors import ConfigError, SerEdgeError, shown
from ser_edge.listen.enrolment import MAX_CLIPS_PER_LABEL, EnrolledClip, Enrolment

from .adaptstore import default_state_path
from .statefile import check_path, format_time, parse_time, read_state, write_atomic

log = logging.getLogger(__name__)

FORMAT = "ser-edge-enrolment"
VERSION = 1
FILE_NAME = "enrolment.json"
#: about 2.5 kB per clip (a vector of ~100 numbers): 20 clips of 7 labels and room to spare
MAX_BYTES = 1 << 20
CONTENT_ERRORS = (KeyError, TypeError, ValueError, OverflowError, RecursionError, AttributeError)

#: (label, path) -> the clip enrolled again from that file under the current bundle
Reenrol = Callable[[str, Path], EnrolledClip]


def enrolment_path(state_path: Path) -> Path:
    """The enrolment file beside the speaker statistics file ``state_path``."""
    return Path(state_path).with_name(FILE_NAME)


def listener_enrolment(adaptation_state: str, labels, bundle_sha256: str) -> tuple[Optional[Enrolment], str]:
    """The enrolment beside the speaker statistics of setting ``adaptation_state`` for a listener
    (`EnrolStore.load_for_listener`)."""
    return EnrolStore(enrolment_path(default_state_path(adaptation_state))).load_for_listener(labels, bundle_sha256)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class EnrolStore:
    """Load and save one `Enrolment` at ``path``."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self, labels, bundle_sha256: str, reenrol: Optional[Reenrol] = None) -> tuple[Enrolment, str]:
        """(the enrolment, what happened in words). ConfigError if something other than a regular
        file stands at the path."""
        enrolment = Enrolment(labels, bundle_sha256)
        check_path(self.path)
        try:
            raw, _ = read_state(self.path, MAX_BYTES)
        except FileNotFoundError:
            return enrolment, "nothing enrolled yet"
        except OSError as exc:
            raise ConfigError(f"enrolment {shown(self.path)}: cannot read it ({exc.strerror or exc})") from None
        try:
            data = _parse(raw)
            clips = [_clip(c) for c in data["clips"]]
        except CONTENT_ERRORS as exc:
            return enrolment, self._set_aside(f"not a usable enrolment file ({exc})")
        if data["bundle_sha256"] != bundle_sha256:
            return self._rebuild(enrolment, clips, reenrol, data["bundle_sha256"])
        width = len(clips[0].vector) if clips else 0
        if any(len(c.vector) != width or c.label not in enrolment.labels for c in clips):
            return enrolment, self._set_aside("clips of other labels or vector lengths than this model's")
        enrolment.clips.extend(clips)
        return enrolment, f"{len(clips)} clip(s) from {shown(self.path)}"

    def load_for_listener(self, labels, bundle_sha256: str) -> tuple[Optional[Enrolment], str]:
        """What a listener uses: (the enrolment, what happened in words), or (None, why) when nothing is
        enrolled or it was enrolled under another model; it never rewrites the file for another model
        (``ser-edge enrol --list`` enrols the clips again). ConfigError as for `load`."""
        check_path(self.path)
        if not self.path.exists():
            return None, "nothing enrolled"
        try:
            raw, _ = read_state(self.path, MAX_BYTES)
            other = _parse(raw)["bundle_sha256"]
        except OSError as exc:
            raise ConfigError(f"enrolment {shown(self.path)}: cannot read it ({exc.strerror or exc})") from None
        except CONTENT_ERRORS:
            other = bundle_sha256  # `load` sets it aside and says why
        if other != bundle_sha256:
            return None, (f"{shown(self.path)} was enrolled under another model ({other[:12]}); not used: run "
                          "'ser-edge enrol --list' to enrol its clips again for this one")
        enrolment, note = self.load(labels, bundle_sha256)
        return (enrolment if enrolment.clips else None), note

    def _rebuild(self, enrolment: Enrolment, clips, reenrol: Optional[Reenrol], other: str) -> tuple[Enrolment, str]:
        """Enrol the saved clips' files again under this bundle; name those that cannot be."""
        lost = []
        for clip in clips:
            source = Path(clip.source)
            try:
                if reenrol is None or not clip.source_sha256 or file_sha256(source) != clip.source_sha256:
                    raise FileNotFoundError
                again = reenrol(clip.label, source)
            except (OSError, SerEdgeError):
                lost.append(f"{clip.label}: {shown(clip.source)}")
                continue
            enrolment.clips.append(dataclasses.replace(again, added=clip.added, source_sha256=clip.source_sha256))
        note = (f"enrolled under another model ({other[:12]}): {len(enrolment.clips)} clip(s) enrolled again "
                "from their files")
        if lost:
            note += f"; {len(lost)} clip(s) whose files are gone or changed were dropped, enrol them again: " + "; ".join(lost)
        self.save(enrolment)
        log.warning("enrolment: %s", note)
        return enrolment, note

    def _set_aside(self, why: str) -> str:
        target = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}")
        try:
            os.replace(self.path, target)
        except OSError as exc:
            log.warning("enrolment: cannot set %s aside (%s)", shown(self.path), exc.strerror or exc)
            target = self.path
        log.warning("enrolment: %s: %s; set aside as %s", shown(self.path), why, shown(target.name))
        return f"{shown(self.path)}: {why}; set aside as {shown(target.name)}, nothing enrolled"

    def save(self, enrolment: Enrolment) -> None:
        """Write the enrolment atomically (ConfigError naming the file if that fails or it is too large)."""
        data = {"format": FORMAT, "version": VERSION, "bundle_sha256": enrolment.bundle_sha256,
                "labels": list(enrolment.labels), "saved": format_time(time.time()),
                "clips": [{"label": c.label, "vector": [float(v) for v in c.vector], "seconds": c.seconds,
                           "voiced_s": c.voiced_s, "source": c.source, "source_sha256": c.source_sha256,
                           "added": format_time(c.added)} for c in enrolment.clips]}
        payload = (json.dumps(data) + "\n").encode()
        if len(payload) > MAX_BYTES:
            raise ConfigError(f"enrolment {shown(self.path)}: {len(payload)} bytes is more than {MAX_BYTES}; "
                              f"reset a label (at most {MAX_CLIPS_PER_LABEL} clips a label are kept)")
        try:
            write_atomic(self.path, payload)
        except OSError as exc:
            raise ConfigError(f"enrolment {shown(self.path)}: cannot save it ({exc.strerror or exc}); "
                              "the file was not changed") from None


def _parse(raw: bytes) -> dict:
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    if data.get("version") != VERSION:
        raise ValueError(f"version {data.get('version')!r}, this ser-edge reads {VERSION}")
    if not isinstance(data.get("bundle_sha256"), str) or not isinstance(data.get("clips"), list):
        raise ValueError("no bundle_sha256 or clips")
    return data


def _clip(entry: dict) -> EnrolledClip:
    vector = np.asarray(entry["vector"], dtype=np.float64)
    if vector.ndim != 1 or not np.all(np.isfinite(vector)):
        raise ValueError("a clip's vector is not a row of finite numbers")
    seconds, voiced = float(entry["seconds"]), float(entry["voiced_s"])
    if not (0 <= voiced <= seconds < 1e6):
        raise ValueError(f"a clip of {seconds} s with {voiced} s of speech")
    return EnrolledClip(str(entry["label"]), vector, seconds, voiced, str(entry.get("source", "audio")),
                        parse_time(entry["added"]), str(entry.get("source_sha256") or ""))

"""Saving the audio of emotion events (only when asked: ``--save-clips DIR``).

The recorder keeps the last ``max_seconds`` of audio as int16 in a ring (1 MB per 30 s at
16 kHz) and, for each emotion event (or only those below ``max_confidence``), writes the
event's span as a 16-bit mono WAV readable by its owner only (mode 0600, folder 0700).
Nothing else ever writes audio.

Folder modes, whatever the umask: the clips folder and the parents it creates are made 0700.
An existing folder others may use is tightened to 0700 when this process owns it (logged as
a warning); a shared one (sticky bit, like /tmp) or one owned by another user is left alone
with a warning, since the clips' names (time and label) show in any listing.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Optional

import numpy as np

from ser_edge.config.settings import ClipSettings
from ser_edge.errors import ConfigError
from ser_edge.events import EmotionEvent, Event
from ser_edge.sinks.private import make_private_dirs

log = logging.getLogger(__name__)


class ClipRecorder:
    """Ring of recent audio (float32 in, int16 kept) and the WAV writer for emotion spans."""

    def __init__(self, settings: ClipSettings, sample_rate: int, *, start_sample: int = 0) -> None:
        self.dir = Path(settings.dir).expanduser()
        self.max_confidence = settings.max_confidence
        self.sample_rate = int(sample_rate)
        self._ring = np.zeros(int(settings.max_seconds * sample_rate), np.int16)
        self._end = int(start_sample)  # audio time (samples) just after the newest sample
        self.saved: list[Path] = []
        try:
            made = make_private_dirs(self.dir)
        except OSError as exc:
            raise ConfigError(f"clips.dir {self.dir}: cannot create the folder ({exc.strerror or exc})") from None
        if not os.access(self.dir, os.W_OK):
            raise ConfigError(f"clips.dir {self.dir}: the folder is not writable")
        if not made:
            _tighten(self.dir)

    def add(self, samples: np.ndarray) -> None:
        """Append float samples in [-1, 1], shape (n,), that follow the previous ones."""
        x = np.clip(np.round(np.asarray(samples, np.float32) * 32767.0), -32768, 32767).astype(np.int16)
        size = self._ring.size
        x = x[-size:]
        at = self._end % size  # the ring slot of audio sample k is k % size
        head = min(x.size, size - at)
        self._ring[at: at + head] = x[:head]
        self._ring[: x.size - head] = x[head:]
        self._end += x.size

    def on_event(self, event: Event) -> Optional[Path]:
        """Write the clip of an emotion event if it qualifies; its path, or None."""
        if not isinstance(event, EmotionEvent):
            return None
        if self.max_confidence < 1.0 and event.confidence >= self.max_confidence:
            return None
        audio = self.span(event.start_s, event.end_s)
        if audio.size == 0:
            log.warning("clip of event #%d (%.2f-%.2f s) is no longer in memory", event.seq, event.start_s,
                        event.end_s)
            return None
        path = self.dir / _file_name(event)
        try:
            write_wav_private(path, audio, self.sample_rate)
        except OSError as exc:
            log.error("cannot save clip %s: %s", path, exc.strerror or exc)
            return None
        self.saved.append(path)
        log.info("saved clip %s (%.2f s)", path, audio.size / self.sample_rate)
        return path

    def span(self, start_s: float, end_s: float) -> np.ndarray:
        """int16 samples of [start_s, end_s) audio time still in the ring (cut to what is kept)."""
        first = max(int(round(start_s * self.sample_rate)), self._end - self._ring.size, 0)
        last = min(int(round(end_s * self.sample_rate)), self._end)
        if last <= first:
            return np.zeros(0, np.int16)
        return self._ring[np.arange(first, last) % self._ring.size]


def _tighten(folder: Path) -> None:
    """An existing clips folder others may use: chmod 0700 if it is ours and not shared, else warn."""
    st = folder.stat()
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o077:
        return
    if st.st_uid == os.geteuid() and not mode & stat.S_ISVTX:
        os.chmod(folder, 0o700)
        log.warning("clips.dir %s: was mode %04o, so others could list or remove the clips; now 0700",
                    folder, mode)
    else:
        log.warning("clips.dir %s: mode %04o lets others list the clips' names (time and label); it is "
                    "shared or not ours, so it is left as it is: use a folder of your own", folder, mode)


def _file_name(event: EmotionEvent) -> str:
    stamp = event.time.replace("-", "").replace(":", "")
    return f"{stamp}-{event.seq:06d}-{event.label}.wav"


def write_wav_private(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """int16 mono samples -> a new 16-bit WAV with mode 0600 (refuses to overwrite)."""
    import wave  # here: only a listener that records clips needs it

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.astype("<i2").tobytes())

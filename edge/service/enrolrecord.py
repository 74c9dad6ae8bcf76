"""`ser-edge enrol --record LABEL`: one clip of the user from the microphone, saved and enrolled.

A 3-2-1 countdown on stderr, then up to ``seconds`` of audio (Ctrl-C stops early) with a live
line: the level (dBFS) and the speech heard so far as the voice gate hears it (`Take`). Under
`MIN_VOICED_S` seconds of speech nothing is saved, and the message says so and how to do better.
Otherwise the clip is saved as a private 16-bit WAV (mode 0600, in a folder made 0700) in the clips
folder beside the enrolment (`clips_folder`) and enrolled from that file like any other
(`ser_edge.service.enrolcmd.enrol`), so that a later model can embed it again; if the enrolment
refuses it the file is removed. The source is any `ser_edge.sources.Source` (the microphone of the
[audio] settings on the command line; arrays in tests).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Optional, TextIO

import numpy as np

from ser_edge.errors import AudioError, ConfigError, shown
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.vad import VoiceGate
from ser_edge.listen.enrolment import MIN_VOICED_S
from ser_edge.listen.readings import level_dbfs

from .recorder import write_wav_private

#: the folder of recorded clips, beside the enrolment file
CLIPS_FOLDER = "enrolment-clips"
#: level shown as a full bar, and as an empty one, dBFS
BAR_TOP_DB, BAR_BOTTOM_DB = -10.0, -60.0


class Take:
    """A recording as it grows: 1-D float32 blocks at ``params.sample_rate`` in, the audio, its level
    (dBFS, of the last block) and its speech (s, voiced hops of the voice gate) out."""

    def __init__(self, params: FeatureParams):
        self.params = params
        self._gate = VoiceGate.from_params(params)
        self._blocks: list[np.ndarray] = []
        self.voiced_hops = 0
        self.level_db = BAR_BOTTOM_DB

    def push(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        self._blocks.append(x)
        self.voiced_hops += int(np.count_nonzero(self._gate.push(x)))
        if x.size:
            self.level_db = level_dbfs(x)

    @property
    def samples(self) -> np.ndarray:
        """(n,) float32 audio so far."""
        return np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.float32)

    @property
    def seconds(self) -> float:
        return sum(b.size for b in self._blocks) / self.params.sample_rate

    @property
    def voiced_s(self) -> float:
        return self.voiced_hops * self.params.hop_ms / 1000.0

    def line(self) -> str:
        """The live line: a level bar, dBFS, seconds recorded and of speech."""
        share = (self.level_db - BAR_BOTTOM_DB) / (BAR_TOP_DB - BAR_BOTTOM_DB)
        bar = "#" * int(round(20 * min(max(share, 0.0), 1.0)))
        return f"level [{bar:<20}] {self.level_db:6.1f} dBFS  {self.seconds:4.1f} s, speech {self.voiced_s:4.1f} s"

    def check(self) -> None:
        """AudioError (nothing saved) when the take holds less than `MIN_VOICED_S` of speech."""
        if self.voiced_s < MIN_VOICED_S:
            raise AudioError(f"heard {self.voiced_s:.1f} s of speech in {self.seconds:.1f} s (at least "
                             f"{MIN_VOICED_S:g} s of speech); nothing was saved: speak for longer, closer to the "
                             "microphone, or check its level (the bar should move as you speak)")


def record(source, params: FeatureParams, seconds: float, out: TextIO,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Take:
    """Count down on ``out``, then read ``source`` (opened and closed here) for ``seconds`` of audio or
    until it ends or Ctrl-C, drawing the live line; the take (not yet checked)."""
    for n in (3, 2, 1):
        out.write(f"\rrecording in {n}... ")
        out.flush()
        sleep(1.0)
    out.write("\rspeak now (Ctrl-C stops)\n")
    take, drawn = Take(params), 0.0
    source.open()
    try:
        while take.seconds < seconds:
            block = source.read()
            if block is None:
                break
            take.push(block.samples)
            if clock() - drawn >= 0.1:
                out.write("\r" + take.line())
                out.flush()
                drawn = clock()
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    out.write("\r" + take.line() + "\n")
    return take


def clips_folder(enrolment_file: Path) -> Path:
    """Where recorded clips go: `CLIPS_FOLDER` beside the enrolment file."""
    return Path(enrolment_file).with_name(CLIPS_FOLDER)


def save_take(take: Take, folder: Path, label: str, now: Optional[float] = None) -> Path:
    """Write the take as ``<label>-<UTC time>.wav`` (16-bit, 0600; the folder made 0700); ConfigError
    naming the folder if it cannot be."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    pcm = np.clip(np.round(take.samples * 32767.0), -32768, 32767).astype(np.int16)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for n in range(100):
            path = folder / (f"{label}-{stamp}" + (f"-{n}" if n else "") + ".wav")
            try:
                write_wav_private(path, pcm, take.params.sample_rate)
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise ConfigError(f"clips folder {shown(folder)}: cannot save the clip ({exc.strerror or exc})") from None
    raise ConfigError(f"clips folder {shown(folder)}: too many clips named {label}-{stamp}*.wav")


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

"""The device side of side_by_side.py: clips classified and windows timed as the device does them.

A speaker-normalised bundle (``speaker_cmvn``) normalises with statistics the device learns as
it hears a speaker, from the bundle's prior. Here each held-out speaker is one stream of
statistics: an `Adapter` started from the prior at the speaker's first clip and carried from
clip to clip of that speaker (what `ser-edge classify --shared-stats` does with one speaker's
files), never statistics computed over a corpus. A window-normalised bundle has no adapter
(None) and is measured as before.

Per window the normalisation is timed as the device pays it: for a speaker model, the
adapter's update with the segment of voiced frames completed before the window's end
(`learn_segments`), its statistics (`Adapter.norm`) and `normalise_window`. The voice gate,
whose flags say which frames are voiced, runs beside the MFCC but outside the timed span, as
in `ser-edge bench` (it is in the per-clip figures).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Iterable, Optional

import numpy as np

from ser_edge.bench.run import BLOCK_MS, percentiles
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.vad import VoiceGate
from ser_edge.frontend.windows import normalise_window
from ser_edge.listen.adapter import Adapter, learn_segments
from ser_edge.listen.recognizer import Recognizer


class SpeakerStreams:
    """One adapter per speaker, fresh from the prior at their first clip (None for window models)."""

    def __init__(self, recognizer: Recognizer):
        self.recognizer, self._adapters = recognizer, {}

    def of(self, speaker: str) -> Optional[Adapter]:
        if speaker not in self._adapters:
            self._adapters[speaker] = self.recognizer.new_adapter()
        return self._adapters[speaker]


def clip_classifier(recognizer: Recognizer, speakers: dict[str, str], adapted_s: list) -> Callable[[str], int]:
    """path -> label index, each file through `Recognizer.classify_file` with its speaker's adapter
    (``speakers``: path -> speaker); appends the seconds of speech the statistics rest on after
    each file to ``adapted_s`` (None for window models)."""
    streams = SpeakerStreams(recognizer)

    def classify(path: str) -> int:
        result = recognizer.classify_file(path, adapter=streams.of(speakers[path]))
        adapted_s.append(result.adapted_s)
        return recognizer.labels.index(result.label)

    return classify


def _clocks() -> np.ndarray:
    """[wall, CPU of this process] in seconds."""
    return np.array([time.perf_counter(), time.process_time()])


def streaming_windows(audio: Iterable[tuple[np.ndarray, str]], recognizer: Recognizer) -> dict:
    """ms per window (1.5 s every 0.5 s) over (float32 clip at the model rate, speaker) pairs,
    streamed in BLOCK_MS blocks: features (the MFCC pushes of the window's new audio plus the
    normalisation), normalisation alone, inference, their total and its CPU time."""
    p, classifier = recognizer.params, recognizer.classifier
    block = p.sample_rate * BLOCK_MS // 1000
    blocks_per_hop = max(1, round(p.window_hop_samples / block))
    extractor, streams = MfccExtractor(p), SpeakerStreams(recognizer)
    classifier.scores(np.zeros(classifier.input_shape[1:], np.float32))  # first invoke sets up kernels
    times: dict[str, list] = {"features": [], "normalise": [], "inference": [], "cpu": []}
    for x, speaker in audio:
        adapter, learned = streams.of(speaker), 0
        stream, gate = extractor.stream(), VoiceGate.from_params(p)
        frames, flags, recent = [], [], deque(maxlen=blocks_per_hop)
        next_end = p.window_frames
        for i in range(0, x.size, block):
            t0 = _clocks()
            frames.append(stream.push(x[i:i + block]))
            recent.append(_clocks() - t0)  # the last blocks_per_hop pushes make the window's new frames
            flags.append(gate.push(x[i:i + block]))
            while stream.frames_out >= next_end:  # a window ends within this block
                rows, hop_flags = np.concatenate(frames), np.concatenate(flags)
                t1 = _clocks()
                if adapter is not None:  # what Pipeline does at each segment's last hop
                    learned = learn_segments(adapter, rows, hop_flags, 0, learned, min(next_end, hop_flags.size))
                window = normalise_window(rows[next_end - p.window_frames:next_end], p,
                                          None if adapter is None else adapter.norm())
                t2 = _clocks()
                classifier.scores(window)
                t3 = _clocks()
                _record(times, np.sum(recent, axis=0), t1, t2, t3)
                next_end += p.window_hop_frames
    return _summary(times)


def _record(times: dict, pushes: np.ndarray, t1: np.ndarray, t2: np.ndarray, t3: np.ndarray) -> None:
    times["features"].append(1000.0 * (pushes[0] + t2[0] - t1[0]))
    times["normalise"].append(1000.0 * (t2[0] - t1[0]))
    times["inference"].append(1000.0 * (t3[0] - t2[0]))
    times["cpu"].append(1000.0 * (pushes[1] + t3[1] - t1[1]))


def _summary(times: dict) -> dict:
    return {"features": percentiles(times["features"]), "normalise": percentiles(times["normalise"]),
            "inference": percentiles(times["inference"]),
            "total": percentiles(np.add(times["features"], times["inference"])),
            "total_cpu": percentiles(times["cpu"])}


class ScratchWindows:
    """The device computing each window from scratch, for side_by_side's `_time_windows`:
    `load` a clip (its speaker's adapter; the voice gate's flags over the clip, untimed), then
    `featurize` its windows in order (start 0, one hop apart): the window's MFCC, and for a
    speaker model the adapter's update with the window's completed segment and the normalisation."""

    def __init__(self, recognizer: Recognizer, load: Callable[[str], np.ndarray], speakers: dict[str, str]):
        self.p, self._load, self._speakers = recognizer.params, load, speakers
        self._extractor, self._streams = MfccExtractor(self.p), SpeakerStreams(recognizer)

    def load(self, clip: str) -> np.ndarray:
        x = self._load(clip)
        self._adapter, self._learned, self._next = self._streams.of(self._speakers[clip]), 0, 0
        self._flags = VoiceGate.from_params(self.p).push(x) if self._adapter is not None else None
        return x

    def featurize(self, window: np.ndarray) -> np.ndarray:
        p, first = self.p, self._next  # the window's first hop
        self._next += p.window_hop_frames
        rows = self._extractor(window)
        if self._adapter is None:
            return normalise_window(rows, p)
        end = min(first + rows.shape[0], self._flags.size)
        self._learned = learn_segments(self._adapter, rows, self._flags[first:end], first, max(self._learned, first), end)
        return normalise_window(rows, p, self._adapter.norm())

"""The one frame buffer (`ser_edge.listen.frames`): on real speech the same frames, flags,
windows and speaker statistics for any block size as the whole-clip front end; further tracks
aligned with the frames; bounded memory on a ten-minute stream; segments that are the gate's
stretches of speech, the ones the listener reports."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.events import EventFactory
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.normalise import voiced
from ser_edge.frontend.vad import VoiceGate
from ser_edge.frontend.windows import normalise_window, window_starts
from ser_edge.listen.adapter import for_bundle
from ser_edge.listen.frames import FrameBuffer, Segment
from ser_edge.listen.pipeline import Pipeline
from ser_edge.model.load import bundle_of

RATE = 16000
CLIPS = ("ravdess/Actor_17/03-01-05-02-01-01-17.flac", "tess/OAF_angry/OAF_back_angry.flac",
         "ravdess/Actor_20/03-01-04-01-02-02-20.flac")


@pytest.fixture(scope="module")
def bundle():
    return bundle_of(None)  # the shipped default: speaker-normalised, so the adapter takes part


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> np.ndarray:
    """Real clips with pauses between them (0.7 s, 1.3 s) and a quiet lead: ~9 s."""
    parts = [np.zeros(4000, np.float32)]
    for i, clip in enumerate(CLIPS):
        parts += [load_audio(data_dir / clip, RATE), np.zeros(int(RATE * (0.7 + 0.6 * i)), np.float32)]
    return np.concatenate(parts)


def sizes_of(name: str):
    if name == "random":
        return iter(np.random.default_rng(7).integers(0, 5000, 10**6).tolist())
    return itertools.repeat(int(name))


def stream(buffer: FrameBuffer, x: np.ndarray, sizes, keep_from=None) -> dict:
    """Push ``x`` in blocks of ``sizes``; collect each hop's frame and flag as it becomes held,
    each due window (normalised if the buffer has the adapter a speaker model needs), the
    segments and the largest number of rows held."""
    out = {"frames": [], "flags": [], "starts": [], "windows": [], "segments": set(), "held": 0}
    done = flagged = i = 0
    while i < x.size:
        n = next(sizes)
        buffer.push(x[i:i + n])
        i += n
        out["frames"].append(buffer.frames(done, buffer.ready).copy())
        out["flags"].append(buffer.flags(flagged, buffer.flags_end).copy())
        done, flagged = buffer.ready, buffer.flags_end
        for start in buffer.due_windows():
            out["starts"].append(start)
            if buffer.adapter is not None:
                out["windows"].append(buffer.window(start))
        out["segments"].update(buffer.segments)
        out["held"] = max(out["held"], buffer.frames().shape[0], buffer.flags().size)
        buffer.trim(keep_from)
    return out


@pytest.mark.parametrize("name", ["1", "7", "160", "1000", "random"])
def test_frames_flags_windows_and_statistics_do_not_depend_on_block_size(bundle, speech, name):
    x = speech if name != "1" else speech[: 3 * RATE]  # a sample at a time: 3 s is plenty
    p = bundle.params
    ref_frames, ref_flags = MfccExtractor(p)(x), VoiceGate.from_params(p).push(x)
    buffer = FrameBuffer(p, adapter=for_bundle(bundle))
    got = stream(buffer, x, sizes_of(name))
    frames, flags = np.concatenate(got["frames"]), np.concatenate(got["flags"])
    assert np.array_equal(frames, ref_frames) and np.array_equal(flags, ref_flags)  # bit for bit
    assert got["starts"] == window_starts(len(ref_frames), p).tolist() and len(got["starts"]) > 3
    # each window normalised with the statistics of the whole segments before its end
    reference = for_bundle(bundle)
    for start, window in zip(got["starts"], got["windows"]):
        end = start + p.window_frames
        reference.reset()
        for a in range(0, end - end % p.window_hop_frames, p.window_hop_frames):
            reference.learn(voiced(ref_frames[a:a + p.window_hop_frames], ref_flags[a:a + p.window_hop_frames]))
        rows = ref_frames[start:end]
        assert np.array_equal(window, normalise_window(rows, p, reference.norm())), start
    assert buffer.speech_hops == int(ref_flags.sum()) and buffer.samples == x.size and buffer.flags_end == ref_flags.size


def test_a_further_track_stays_aligned_with_the_frames(bundle, speech):
    p = bundle.params
    narrow = dataclasses.replace(p, n_mfcc=13, n_mels=26)  # same hop and frame: one row per hop
    buffer = FrameBuffer(p, tracks={"narrow": MfccExtractor(narrow).stream()})
    sizes, i, seen = sizes_of("random"), 0, 0
    while i < speech.size:
        n = next(sizes)
        buffer.push(speech[i:i + n])
        i += n
        rows = buffer.rows("narrow")
        assert rows.shape == (buffer.frames().shape[0], 13)  # never ahead of the MFCC, never behind
        seen = max(seen, buffer.ready)
    assert np.array_equal(buffer.rows("narrow"), MfccExtractor(narrow)(speech))  # nothing trimmed here
    assert seen == len(MfccExtractor(p)(speech))


def test_memory_stays_bounded_on_a_ten_minute_stream(bundle):
    """Ten minutes of a speech-like signal (syllable-rate bursts of a voiced tone, pauses, noise):
    what the buffer holds never grows past about a window and a block."""
    p = bundle.params
    rng = np.random.default_rng(3)
    t = np.arange(10 * RATE) / RATE
    voice = sum(np.sin(2 * np.pi * k * (140 + 20 * np.sin(2 * np.pi * 0.3 * t)) * t) / k for k in range(1, 6))
    syllables = np.maximum(0.0, np.sin(2 * np.pi * 4 * t)) ** 2
    talk = (0.1 * voice * syllables).astype(np.float32)  # 10 s
    pause = np.zeros(3 * RATE, np.float32)
    buffer = FrameBuffer(p, adapter=for_bundle(bundle))
    block, held, segments, seen, windows, total = RATE // 10, 0, 0, set(), 0, 0
    while total < 600 * RATE:  # 10 s talk + 3 s pause + 1 s noise, over and over
        piece = np.concatenate([talk, pause, rng.normal(0, 0.003, RATE).astype(np.float32)])
        for i in range(0, piece.size, block):
            buffer.push(piece[i:i + block])
            windows += len(buffer.due_windows())
            buffer.trim()  # with the adapter learning what is dropped
            held = max(held, buffer.frames().shape[0], buffer.flags().size)
            segments = max(segments, len(buffer.segments))
            seen.update(buffer.segments)
        total += piece.size
    hops = total // p.hop_length
    assert buffer.flags_end == hops and windows == len(window_starts(buffer.ready, p))  # it all streamed
    assert held <= p.window_frames + 2, held  # under a window, and the gate's lead
    assert buffer.learned == buffer.base > hops - p.window_frames - p.window_hop_frames  # learnt what it dropped
    assert len({s.start for s in seen}) >= 40 and segments <= 3  # one per talk, only the last few held


def runs_of(flags: np.ndarray) -> list[Segment]:
    """The stretches of True in ``flags``: (start, end exclusive), the last open (end None) if it lasts."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    out = [Segment(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
    if out and out[-1].end == flags.size:
        out[-1] = Segment(out[-1].start, None)
    return out


@pytest.mark.parametrize("name", ["160", "random"])
def test_segments_are_the_gates_stretches_of_speech_and_the_listeners(bundle, speech, name):
    p = bundle.params
    flags = VoiceGate.from_params(p).push(speech)
    expected = runs_of(flags)
    assert len(expected) >= 3 and expected[-1].end is not None  # one per clip at least, closed by the pauses
    got = stream(FrameBuffer(p), speech, sizes_of(name))["segments"]
    closed = sorted(s for s in got if s.end is not None)
    assert closed == expected  # every segment, each seen closed once its end was flagged
    assert {s.start for s in got if s.end is None} <= {s.start for s in expected}  # open ones were the same
    # the listener's speech events are these segments, in seconds
    pipeline = Pipeline(bundle, events=EventFactory(model_id="t", model_sha256="ab" * 32, device="t"),
                        status_interval_s=0, clock=lambda: 0.0)
    events = pipeline.push(speech) + pipeline.finish()
    spans = [(e.start_s, e.end_s) for e in events if e.type == "speech_end"]
    assert spans == [(s.start * p.hop_length / RATE, s.end * p.hop_length / RATE) for s in expected]


def test_trim_keeps_what_is_asked_for_and_drops_old_segments(bundle, speech):
    p = bundle.params
    buffer = FrameBuffer(p)
    stream(buffer, speech, sizes_of("1000"), keep_from=0)
    assert np.array_equal(buffer.frames(), MfccExtractor(p)(speech))  # keep_from=0: nothing dropped
    first = buffer.segments[0]
    buffer.trim(keep_from=first.end - 1)
    assert buffer.base == first.end - 1 and buffer.segments[0] == first  # it ends after base: kept
    buffer.trim()
    assert buffer.base == buffer.next_window and first not in buffer.segments
    assert np.array_equal(buffer.frames(), MfccExtractor(p)(speech)[buffer.base:])

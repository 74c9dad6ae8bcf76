"""A small Python API for prototypes: classify clips, or listen to a stream of audio.

    from ser_edge import api

    result = api.classify("clip.wav")                  # a FileResult: label, confidence, scores, arousal, valence
    result = api.classify(samples, sample_rate=48000)  # an int16 or float array, resampled as needed
    results = api.classify(["a.wav", "b.wav"], statistics="shared")  # one speaker's files
    api.enrol("happy", "me_happy.wav")                 # the user's own clips lean later decisions
                                                       # (in memory; `ser-edge enrol` stores them)

    for event in api.iter_events("long.flac"):         # typed events, as `ser-edge listen` emits
        if event.type == "emotion":
            print(event.label, event.confidence, event.start_s, event.end_s)

    api.listen(api.microphone(), on_event=print)       # until Ctrl-C (or the source ends)

A *source* is a file path, a NumPy array (with ``sample_rate``), ``api.microphone(...)`` (or
the string "microphone"), any iterable of blocks (with ``sample_rate``), or a ready
`ser_edge.sources.Source`. Arrays and blocks, in both calls: int16 (scaled by 1/32768) or
float32/float64 in [-1, 1], shape (n,) or (n, 1), every sample finite; anything else is an
AudioError naming the dtype or shape (`ser_edge.audio.samples`). ``sample_rate``: a whole
number of Hz from 4000 to 768000. ``model`` is a shipped bundle's name ("default"), a bundle
folder, a loaded `Bundle`, or None for the default model; bundles are loaded once and reused.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Union

import numpy as np

from ser_edge.audio.samples import api_rate, api_samples
from ser_edge.config.settings import GateSettings, SmoothingSettings
from ser_edge.events import Event, EventFactory
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.recognizer import FileResult, Recognizer
from ser_edge.model.bundle import Bundle
from ser_edge.model.load import bundle_path
from ser_edge.sources import ArraySource, FileSource, IterableSource, MicrophoneSource, Source

__all__ = ["ClipResult", "Event", "FileResult", "classify", "iter_events", "listen", "microphone"]

#: what `classify` returns; ClipResult is its name in earlier releases, kept for users
ClipResult = FileResult

ModelArg = Union[str, "os.PathLike[str]", Bundle, None]
SourceArg = Union[str, "os.PathLike[str]", np.ndarray, Iterable[np.ndarray], Source]
MICROPHONE = "microphone"


@functools.lru_cache(maxsize=4)
def _recognizer(path: str) -> Recognizer:
    return Recognizer(path)


def _loaded(model: ModelArg) -> Recognizer:
    """A Recognizer (bundle, classifier, front end) for a model argument; cached by bundle folder
    unless a Bundle."""
    if isinstance(model, Bundle):
        return Recognizer(model)
    return _recognizer(str(bundle_path(model)))


def classify(audio: Union[str, "os.PathLike[str]", np.ndarray, list], sample_rate: Optional[int] = None,
             model: ModelArg = None, statistics: str = "per_file", scope: str = "auto") -> Any:
    """One decision for a whole clip: a file path, or an array of samples (the module doc's rule); a
    list of them gives a list of decisions.

    sample_rate: of the array, Hz (default: the model's rate); not used for files.
    statistics: for speaker-normalised models, "per_file" (learnt per clip from the prior) or
    "shared" (one speaker's clips: carried over from clip to clip of the list).
    scope: "auto", "window" or "utterance" (`Recognizer.classify_file`): with an utterance head the
    result also lists the clip's utterances.
    Raises AudioError for unreadable, too short or refused audio (a dtype, shape, NaN or rate
    outside the rule), BundleError for a bad model.
    """
    if statistics not in ("per_file", "shared"):
        raise ValueError(f"statistics={statistics!r}; allowed: 'per_file', 'shared'")
    recognizer = _loaded(model)
    rate = recognizer.params.sample_rate if sample_rate is None else api_rate(sample_rate)
    shared = recognizer.new_adapter() if statistics == "shared" else None

    def one(item: Any) -> ClipResult:
        if isinstance(item, (str, os.PathLike)):
            return recognizer.classify_file(item, adapter=shared, scope=scope)
        x = api_samples(item, f"array of {getattr(item, 'shape', '?')}")
        return recognizer.classify_array(x, rate, name=f"array of {x.size} samples", adapter=shared, scope=scope)

    return [one(item) for item in audio] if isinstance(audio, (list, tuple)) else one(audio)


def enrol(label: str, audio: Union[str, "os.PathLike[str]", np.ndarray], sample_rate: Optional[int] = None,
          model: ModelArg = None):
    """Teach `classify` (same ``model``) the user's own ``label`` from one clip of them speaking: a
    file path or an array (the module doc's rule), at least 2 s of speech. Kept in memory for this
    process (`ser-edge enrol` stores clips for the service); returns the `EnrolledClip`. ConfigError
    for a label the model lacks, AudioError for unusable audio; nothing is added then. The personal
    head acts from 4 clips of 3 labels on (docs/ADAPTATION.md)."""
    recognizer = _loaded(model)
    if isinstance(audio, (str, os.PathLike)):
        from ser_edge.audio.read import load_audio

        x = load_audio(audio, recognizer.params.sample_rate)
        return recognizer.enrol(label, x, recognizer.params.sample_rate, name=str(audio))
    rate = recognizer.params.sample_rate if sample_rate is None else api_rate(sample_rate)
    x = api_samples(audio, f"array of {getattr(audio, 'shape', '?')}")
    return recognizer.enrol(label, x, rate, name=f"array of {x.size} samples")


def microphone(device: str | int = "", *, device_rate: int = 0, channels: int = 1, block_ms: int = 100,
               sample_rate: Optional[int] = None) -> MicrophoneSource:
    """A microphone source: device index or part of its name ("" = default). Needs ser-edge[mic]."""
    rate = sample_rate or _loaded(None).params.sample_rate
    return MicrophoneSource(rate, device=str(device), device_rate=device_rate, channels=channels, block_ms=block_ms)


def as_source(source: SourceArg, rate: int, sample_rate: Optional[int] = None, *, realtime: bool = False) -> Source:
    """The `Source` for a source argument (see the module doc), delivering at ``rate`` Hz."""
    if isinstance(source, str) and source == MICROPHONE and not Path(source).exists():
        return MicrophoneSource(rate)
    if isinstance(source, (str, os.PathLike)):
        return FileSource(source, rate, realtime=realtime)
    given = rate if sample_rate is None else sample_rate  # checked by the sources (api_rate)
    if isinstance(source, np.ndarray):
        return ArraySource(source, rate, rate=given)
    if all(hasattr(source, m) for m in ("open", "read", "close")):
        return source  # type: ignore[return-value]
    if isinstance(source, (bytes, bytearray, memoryview)):
        api_samples(source, "source")  # the rule's message (AudioError)
    return IterableSource(source, rate, rate=given)  # type: ignore[arg-type]


def iter_events(source: SourceArg, *, sample_rate: Optional[int] = None, model: ModelArg = None,
                gate: Optional[GateSettings] = None, smoothing: Optional[SmoothingSettings] = None,
                status_interval_s: float = 0.0, device: Optional[str] = None,
                realtime: bool = False) -> Iterator[Event]:
    """Events (speech_start, emotion, speech_end, status) as the source is read, until it ends.

    sample_rate: of an array or iterable source, Hz (default: the model's rate). Arrays and
    blocks follow the module doc's rule (AudioError otherwise, at the first block for an array,
    when the block is reached for an iterable).
    gate, smoothing: settings (defaults as `ser-edge listen`); status_interval_s: 0 = one
    status event at the end only. realtime: pace a file like a live microphone.
    A microphone never ends: stop iterating (or close the generator) to stop it.
    """
    recognizer = _loaded(model)
    bundle = recognizer.bundle
    factory = EventFactory(model_id=bundle.model_id, model_sha256=bundle.sha256, device=device)
    pipeline = Pipeline(recognizer.classifier, events=factory, gate=gate, smoothing=smoothing,
                        status_interval_s=status_interval_s)
    src = as_source(source, pipeline.sample_rate, sample_rate, realtime=realtime)
    src.open()
    try:
        while True:
            block = src.read()
            if block is None:
                break
            if block.samples.size or block.dropped:
                yield from pipeline.push(block.samples, dropped=block.dropped)
        yield from pipeline.finish()
    finally:
        src.close()


def listen(source: SourceArg = MICROPHONE, *, on_event: Callable[[Event], Any], **options: Any) -> None:
    """Call ``on_event(event)`` for every event until the source ends or Ctrl-C (which returns quietly).

    Takes the same keyword options as `iter_events`.
    """
    events = iter_events(source, **options)
    try:
        for event in events:
            on_event(event)
    except KeyboardInterrupt:
        pass
    finally:
        events.close()

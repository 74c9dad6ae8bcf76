"""From samples to events: the listening pipeline, a pure core (no clock reads but one
injected for latency, no I/O, no sleeping).

Audio is cut into hops of ``hop_length`` samples (10 ms). The streaming MFCC and the voice
gate run in step in a `FrameBuffer` (`ser_edge.listen.frames`, the file scorer's too), one MFCC
frame and one speech flag per hop, indexed exactly as training indexes them
(`ser_edge.frontend.windows`). Hop ``j`` is processed once both its frame and its flag exist;
processing is therefore identical for any block sizes. For hop ``j``:

1. **Gate transitions.** The flag turning on emits ``speech_start`` at the hop's start; turning
   off (after the gate's hangover) emits ``speech_end`` and resets the smoother, so one
   utterance never colours the next. ``start_s`` is up to the gate's onset late.
2. **Windows.** Every ``window_hop_frames`` frames a window of ``window_frames`` frames ends at
   hop ``j`` (one of the buffer's `due_windows`). It is classified only if the gate is open at its last hop and at least
   ``min_voiced`` of its hops are speech (`voiced_fraction`, as training counts it); then it
   is normalised (`normalise_window`), scored by the int8 model and fed to the smoother,
   whose decisions become ``emotion`` events (their arousal and valence: the smoothed scores'
   point on the circumplex, `ser_edge.model.circumplex`). Silence and steady noise keep the
   gate shut, so they are never classified. A speaker-normalised model (``speaker_cmvn``)
   normalises with the `Adapter`'s statistics, which learn from the voiced hops in whole
   segments of ``window_hop_frames`` hops (`learn_segments`, before the window check of the
   segment's last hop); its emotion events carry ``adapted_s``, the seconds of speech they rest on.
3. **Utterances.** With a bundle that has an utterance head (`ser_edge.model.utterance`) and
   ``scope`` utterance (the default for such bundles) or both, each stretch of speech is also
   decided as a whole (`ser_edge.listen.utterances`): at its end and, while it lasts, every
   ``every_s``; those ``emotion`` events have ``scope`` "utterance" and span the utterance (its last
   ``max_s`` at most). Window decisions (the smoother's) have ``scope`` "window"; with scope
   utterance they are not emitted. With an active ``enrolment`` (`ser_edge.listen.enrolment`)
   the utterance decisions pass through the personal head (window decisions do not).
4. **Status.** Every ``status_interval_s`` of audio, a ``status`` event: uptime (s, from the
   injected clock), audio processed and dropped (s), windows classified, per-window latency
   p50/p95/max (ms: normalisation, int8 inference and smoothing) since the last status, and in
   ``extra`` the real-time factor ``rtf`` (processing seconds per audio second, MFCC and gate
   included) and whether speech is open.

Events come out in the order of the audio time at which each becomes known: a
speech_start's ``start_s``, an emotion's or speech_end's ``end_s``, a status's ``audio_s``
(an emotion's ``start_s`` is its first window's start, which may precede the gate opening).
Times are audio seconds from the sample count (``start_sample`` allows a continued stream).
Dropped audio is counted (reported in status) but not inserted: time stamps count the
samples processed.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

import numpy as np

from ser_edge.audio.samples import as_mono_float32
from ser_edge.config.settings import GateSettings, SmoothingSettings
from ser_edge.events import Event, EventFactory
from ser_edge.frontend.prosody import ProsodyExtractor
from ser_edge.frontend.vad import LEVEL_FLOOR_DB, VoiceGate
from ser_edge.model.circumplex import affect
from ser_edge.model.load import ModelLike, load_classifier

from .adapter import Adapter, for_bundle
from .enrolment import Enrolment, personal_decision
from .frames import FrameBuffer
from .readings import level_dbfs, percentile
from .smoothing import Smoother
from .utterances import PROSODY, UtteranceDecider, decision_scopes


class Pipeline:
    """Samples in (float32 mono at the model rate), typed events out."""

    def __init__(
        self,
        model: ModelLike = None,
        *,
        events: Optional[EventFactory] = None,
        gate: Optional[GateSettings] = None,
        smoothing: Optional[SmoothingSettings] = None,
        status_interval_s: float = 60.0,
        start_sample: int = 0,
        clock: Callable[[], float] = time.perf_counter,
        status_extra: Optional[Callable[[], Mapping[str, Any]]] = None,
        adapter: Optional[Adapter] = None,
        on_window: Optional[Callable[[np.ndarray, float, float], None]] = None,
        scope: Optional[str] = None,
    ) -> None:
        """Build the front end, gate, classifier and smoother (ConfigError/BundleError if invalid).

        Args:
            model: Classifier, Bundle, bundle folder, shipped name or None (the default model).
            events: stamps events; default: one for this model and the host name.
            gate, smoothing: settings (defaults: `GateSettings()`, `SmoothingSettings()`).
            status_interval_s: a status event every this much audio, s; 0 = none but at `finish`.
            start_sample: audio time of the first sample, in samples (to continue a stream).
            clock: seconds, monotonic; used only for latency and uptime in status events.
            status_extra: called for further scalar readings to put into status events.
            adapter: speaker statistics for a ``speaker_cmvn`` model (default: fresh from its
                prior, learning); ignored for other models.
            on_window: called with each classified window's scores (float32, label order),
                start_s and end_s, before smoothing (for tools that replay the smoother).
            scope: which decisions become emotion events: window, utterance (needs a bundle with an
                utterance head), both, or auto (utterance when the bundle has a head); default:
                the smoothing settings' ``scope``.
        """
        self.classifier = load_classifier(model)
        self.params = self.classifier.bundle.params
        self.labels = self.classifier.labels
        bundle = self.classifier.bundle
        self.events = events or EventFactory(model_id=bundle.model_id, model_sha256=bundle.sha256)
        self._circumplex = bundle.circumplex
        gate = gate or GateSettings()
        self.min_voiced = gate.min_voiced
        smoothing = smoothing or SmoothingSettings()
        self._smoother = Smoother(**smoothing.smoother_kwargs(self.labels, bundle.thresholds))
        self.scopes = decision_scopes(smoothing.scope if scope is None else scope, bundle)
        head = bundle.utterance if "utterance" in self.scopes else None
        adapter = (adapter or for_bundle(bundle)) if bundle.adaptive else None
        self.utterances = UtteranceDecider.for_adapter(head, self.params, adapter) if head is not None else None
        tracks = {PROSODY: ProsodyExtractor(self.params).stream()} if head is not None and self.params.prosody else None
        self._buffer = FrameBuffer(self.params, gate=VoiceGate.from_params(self.params, **gate.gate_kwargs()),
                                   adapter=adapter, tracks=tracks)
        self._clock, self._status_extra, self._on_window = clock, status_extra, on_window
        self._started = clock()
        self._hop, self._rate = self.params.hop_length, self.params.sample_rate
        self._size, self._step = self.params.window_frames, self.params.window_hop_frames  # hops (cached)
        self._adaptive = self.adapter is not None
        self._offset = int(start_sample)
        self._status_hops = int(round(status_interval_s * self._rate / self._hop)) if status_interval_s > 0 else 0
        self._next = 0  # next hop to process
        self._speech_start: Optional[int] = None  # hop where the current speech began
        self._latencies: list[float] = []  # ms, since the last status
        self._busy_s = 0.0
        self._finished = False
        self.samples_in = 0
        self.samples_dropped = 0
        self.windows_classified = 0
        self.level_db = LEVEL_FLOOR_DB  # of the last block, for meters
        self.last_scores: Optional[dict[str, float]] = None  # of the last classified window
        self.last_emotion: Optional[Event] = None
        self.enrolment: Optional[Enrolment] = None  # the user's clips; their head moves utterance decisions

    # ----- public ----------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        """The rate `push` expects, Hz (the model's)."""
        return self._rate

    @property
    def adapter(self) -> Optional[Adapter]:
        """The speaker statistics a ``speaker_cmvn`` model learns and uses; None for other models."""
        return self._buffer.adapter

    @property
    def speaking(self) -> bool:
        """The gate's state at the last processed hop."""
        return self._speech_start is not None

    @property
    def end_sample(self) -> int:
        """Audio time at the end of what was pushed, in samples (``start_sample`` included)."""
        return self._offset + self.samples_in

    @property
    def audio_s(self) -> float:
        """Audio time at the end of what was pushed, s."""
        return (self._offset + self.samples_in) / self._rate

    def push(self, samples: np.ndarray, *, dropped: int = 0) -> list[Event]:
        """Feed float mono samples at `sample_rate`, shape (n,); return the events they complete.

        ``dropped``: samples lost before this block (at the model rate), counted for status.
        """
        if self._finished:
            raise RuntimeError("Pipeline.push after finish()")
        x = as_mono_float32(samples, "pipeline")
        start = self._clock()
        self.samples_in += x.size
        self.samples_dropped += max(0, int(dropped))
        if x.size:
            self.level_db = level_dbfs(x)
        self._buffer.push(x)
        ends = {first + self._size - 1: first for first in self._buffer.due_windows()}
        ready = self._buffer.ready
        flags = self._buffer.flags(self._next, ready).tolist()
        out = [e for j, flag in zip(range(self._next, ready), flags) for e in self._tick(j, flag, ends.get(j))]
        self._next = ready
        self._buffer.trim(None if self.utterances is None else self.utterances.keep_from(ready))
        self._busy_s += self._clock() - start
        return out

    def finish(self) -> list[Event]:
        """End of stream: the last gate transitions, a speech_end if speech is open, a final status."""
        if self._finished:
            return []
        last = self._buffer.flags_end
        flags = self._buffer.flags(self._next, last).tolist()
        out = [e for j, flag in zip(range(self._next, last), flags) for e in self._tick(j, flag, None, live=False)]
        self._next = last
        if self._speech_start is not None:
            out.extend(self._end_speech(self._offset + self.samples_in, last))
        out.append(self._status(self.audio_s))
        self._finished = True
        return out

    # ----- per hop -----------------------------------------------------------------------------
    def _tick(self, j: int, flag: bool, window: Optional[int], *, live: bool = True) -> list[Event]:
        """Hop ``j`` with its speech flag: gate transitions, the adapter's segment, the window ending
        here (its start ``window``, None if none does) and, if ``live`` (not at `finish`), a status."""
        out: list[Event] = []
        if flag and self._speech_start is None:
            self._speech_start = j
            if self.utterances is not None:
                self.utterances.begin(j)
            out.append(self.events.speech_start(start_s=self._t((self._offset + j * self._hop))))
        elif not flag and self._speech_start is not None:
            out.extend(self._end_speech(self._offset + j * self._hop, j))
        if self._adaptive and (j + 1) % self._step == 0:
            self._buffer.learn(j + 1)
        if window is not None and flag:
            event = self._window(window)
            if event is not None:
                out.append(event)
        if self.utterances is not None and self.utterances.due(j + 1):
            out.extend(self._utterance(j + 1, final=False))
        if live and self._status_hops and (j + 1) % self._status_hops == 0:
            out.append(self._status(self._t(self._offset + (j + 1) * self._hop)))
        return out

    def _window(self, first: int) -> Optional[Event]:
        """Classify the window starting at hop ``first`` if voiced enough; an emotion event if decided."""
        p = self.params
        if self._buffer.voiced_fraction(first) < self.min_voiced:
            return None
        start = self._clock()
        scores = self.classifier.scores(self._buffer.window(first))
        start_s = self._t(self._offset + first * self._hop)
        end_s = self._t(self._offset + (first + p.window_frames - 1) * self._hop + p.frame_length)
        if self._on_window is not None:
            self._on_window(scores, start_s, end_s)
        decision = self._smoother.update(scores, start_s, end_s)
        self._latencies.append(1000.0 * (self._clock() - start))
        self.windows_classified += 1
        self.last_scores = {k: float(v) for k, v in zip(self.labels, scores)}
        if self.utterances is not None:
            self.utterances.add(first + p.window_frames - 1, scores)
        if decision is None or "window" not in self.scopes:
            return None
        adapted = {} if self.adapter is None else {"adapted_s": round(self.adapter.speech_s, 1)}
        self.last_emotion = self.events.emotion(label=decision.label, confidence=decision.confidence,
                                                scores=decision.scores, start_s=decision.start_s,
                                                end_s=decision.end_s, **affect(decision.scores, self._circumplex),
                                                **adapted)
        return self.last_emotion

    def _utterance(self, end: int, *, final: bool) -> list[Event]:
        """The open utterance decided up to hop ``end``: an emotion event of scope utterance, if any."""
        decision = self.utterances.decide(self._buffer, end, final=final)  # type: ignore[union-attr]
        if decision is None:
            return []
        decision = personal_decision(self.enrolment, decision)
        scores = {k: float(v) for k, v in zip(self.labels, decision.scores)}
        label = max(scores, key=scores.__getitem__)
        if scores[label] < self._smoother.thresholds[label]:
            return []  # the window decisions' thresholds hold for utterances too
        adapted = {} if self.adapter is None else {"adapted_s": round(self.adapter.speech_s, 1)}
        # the span of its hops [start, end): it ends where the speech_end that follows it does
        self.last_emotion = self.events.emotion(label=label, confidence=scores[label], scores=scores,
                                                start_s=self._t(self._offset + decision.start * self._hop),
                                                end_s=self._t(self._offset + decision.end * self._hop),
                                                scope="utterance", **affect(scores, self._circumplex), **adapted)
        return [self.last_emotion]

    def _end_speech(self, end_sample: int, end_hop: int) -> list[Event]:
        """Speech ended at hop ``end_hop`` (sample ``end_sample``): the utterance's decision, if any, and speech_end."""
        out = self._utterance(end_hop, final=True) if self.utterances is not None else []
        start = self._offset + (self._speech_start or 0) * self._hop
        self._speech_start = None
        self._smoother.reset()
        self.last_scores = None
        return out + [self.events.speech_end(start_s=self._t(start), end_s=self._t(max(start, end_sample)))]

    def _status(self, audio_s: float) -> Event:
        lat = np.array(self._latencies) if self._latencies else None
        self._latencies = []
        processed_s = self.samples_in / self._rate
        extra: dict[str, Any] = {"rtf": round(self._busy_s / processed_s, 4) if processed_s else 0.0,
                                 "speaking": self.speaking}
        if self.adapter is not None:
            extra["adapted_s"] = round(self.adapter.speech_s, 1)
        if self._status_extra is not None:
            extra.update(self._status_extra())
        return self.events.status(
            uptime_s=self._clock() - self._started, audio_s=audio_s,
            audio_dropped_s=self.samples_dropped / self._rate, windows_classified=self.windows_classified,
            latency_p50_ms=None if lat is None else percentile(lat, 50),
            latency_p95_ms=None if lat is None else percentile(lat, 95),
            latency_max_ms=None if lat is None else float(lat.max()), extra=extra)

    # ----- helpers -------------------------------------------------------------------------------
    def _t(self, sample: int) -> float:
        return sample / self._rate

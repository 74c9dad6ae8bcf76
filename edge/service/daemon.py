"""`ser-edge listen`: source -> pipeline -> sinks, as a foreground process or a systemd service.

Settings are built once at start; `Runtime` holds what they make (classifier, event
factory, sinks, pipeline, clip recorder). The main loop reads a block (waiting at most a
quarter second), pushes it through the pipeline and hands the events on.

Signals (handled between blocks, never inside one; `ser_edge.service.shutdown`): SIGTERM /
SIGINT finish the pipeline (a speech_end if speech is open, a final status), flush and close
the sinks and exit 0, all within one shutdown budget below the unit's stop timeout; a second
one ends the process at once. SIGHUP reads the configuration file again with the same flags:
invalid, an error is logged and the old configuration keeps running; valid, only what changed
is rebuilt between two blocks, so no event is lost and the audio clock continues
(`ser_edge.service.reload`).

systemd (`ser_edge.service.sdnotify`): READY=1 once the model, sinks and source are up; RELOADING=1
and READY=1 around a reload; STOPPING=1 at exit; STATUS= lines on source faults, emotions
and status events; WATCHDOG=1 from this loop while audio went through the pipeline within
``audio.stall_timeout_s``, or while a failed source is being reopened (a handled, logged
fault): a hung loop or a silent open source stops the pings. Configuration and model errors
raise ConfigError/BundleError (exit status 78: systemd does not restart), and so does an MQTT
broker that refuses the credentials or whose certificate is not trusted at start.

MQTT and webhook events wait in spools (`ser_edge.sinks.build.open_spools`) that belong to the
listener, so a reload that rebuilds the sinks hands their waiting events on.
"""

from __future__ import annotations

import logging
import time
from typing import IO, Any, Mapping, Optional, Sequence

from ser_edge.config.settings import Settings
from ser_edge.errors import ConfigError
from ser_edge.events import EmotionEvent, Event, EventFactory, StatusEvent, describe_event, hostname
from ser_edge.listen.pipeline import Pipeline
from ser_edge.model.classifier import Classifier
from ser_edge.model.load import load_classifier
from ser_edge.sinks import MultiSink
from ser_edge.sinks.build import build_sinks, close_spools, open_spools, wait_for_brokers
from ser_edge.sinks.spool import Spool
from ser_edge.sources import ResilientSource, make_source

from .adaptstore import AdaptSession
from .checks import warn_if_exposed
from .enrolstore import listener_enrolment
from .losses import at_risk, close_outputs, status_counts, with_counts
from .recorder import ClipRecorder
from .reload import PIPELINE_KEYS, Reloading, Runtime, _same
from .sdnotify import Notifier
from .shutdown import Stopper

log = logging.getLogger(__name__)

#: how long start-up waits for network sinks (MQTT) to connect, s
CONNECT_WAIT_S = 2.0


class Listener(Reloading):
    """Runs one listening session; `run` returns the exit status. SIGHUP's reload: `Reloading`."""

    def __init__(self, settings: Settings, *, config_path: Optional[str] = None,
                 overrides: Optional[dict] = None, notifier: Optional[Notifier] = None,
                 view: Any = None, stdout: Optional[IO[str]] = None) -> None:
        self.settings = settings
        self.config_path, self.overrides = config_path, overrides or {}
        self.notifier = notifier or Notifier()
        self.view, self._stdout = view, stdout
        self.stopper = Stopper(lambda: at_risk(self.rt.sinks if self.rt else None, self._spools))
        self._last_audio = 0.0
        self._last_ping = 0.0
        self._emotions = 0
        self.rt: Optional[Runtime] = None
        self.source: Optional[ResilientSource] = None
        self._spools: dict[str, Spool] = {}
        self._adapt = AdaptSession()  # speaker statistics of a speaker-normalised model

    # ----- building ----------------------------------------------------------------------------
    def _core(self, s: Settings, old: Optional[Runtime]) -> tuple[Classifier, EventFactory, Pipeline]:
        """Classifier, event factory and pipeline for ``s``, reusing from ``old`` what did not change.

        Builds new objects only; a failure (BundleError, ConfigError) leaves ``old`` running.
        """
        if old is not None and _same(old.settings, s, PIPELINE_KEYS):
            return old.classifier, old.factory, old.pipeline
        if old is not None and old.settings.model == s.model:
            classifier = old.classifier
        else:
            classifier = load_classifier(s.model.path, threads=s.model.threads)
        device = s.device or hostname()
        if old is not None and old.factory.device == device and old.classifier is classifier:
            factory = old.factory  # the sequence number continues
        else:
            bundle = classifier.bundle
            factory = EventFactory(model_id=bundle.model_id, model_sha256=bundle.sha256, device=device)
        pipeline = Pipeline(classifier, events=factory, gate=s.gate, smoothing=s.smoothing,
                            status_interval_s=s.status_interval_s, status_extra=self._status_extra,
                            start_sample=0 if old is None else old.pipeline.end_sample,
                            adapter=self._adapt.adapter_for(s, classifier))
        self._take_enrolment(s, pipeline, strict=old is None)
        return classifier, factory, pipeline

    @staticmethod
    def _take_enrolment(s: Settings, pipeline: Pipeline, *, strict: bool) -> None:
        """The user's enrolment (`ser_edge.service.enrolstore`) for ``pipeline``; a file that cannot
        be used is a ConfigError if ``strict`` (at start), else logged, the running enrolment kept."""
        bundle = pipeline.classifier.bundle
        try:
            pipeline.enrolment, note = listener_enrolment(s.adaptation_state, bundle.labels, bundle.sha256)
        except ConfigError as exc:
            if strict:
                raise
            log.error("enrolment: %s; keeping the one in use", exc)
            return
        head = "off" if pipeline.enrolment is None or not pipeline.enrolment.active else "on"
        if head == "on" and pipeline.utterances is None:
            head = "on, but idle: it moves utterance decisions and this model (or scope) has only window ones"
        log.info("enrolment: %s (personal head %s)", note, head)

    def _sinks(self, s: Settings, classifier: Classifier, spools: Mapping[str, Spool], *,
               strict: bool = True) -> MultiSink:
        """The sinks for ``s``; ConfigError (if ``strict``) when a broker refuses us for good."""
        sinks = build_sinks(s.sinks, device=s.device or hostname(), model_id=classifier.bundle.model_id,
                            stdout=self._stdout, spools=spools)
        # a short file may end before the broker connection is up: give it a moment at start
        wait_for_brokers(sinks, CONNECT_WAIT_S, strict=strict)
        return sinks

    def _start(self) -> None:
        warn_if_exposed(self.config_path, self.settings)
        classifier, factory, pipeline = self._core(self.settings, None)
        self._spools = open_spools(self.settings)
        sinks: Optional[MultiSink] = None
        try:
            sinks = self._sinks(self.settings, classifier, self._spools)
            clips = self._clips(self.settings, pipeline)
            self.rt = Runtime(self.settings, classifier, factory, sinks, pipeline, clips)
            self.source = self._open_source(self.settings, pipeline.sample_rate)
        except BaseException:
            if sinks is not None:
                sinks.close()
            close_spools(self._spools)
            raise

    @staticmethod
    def _clips(s: Settings, pipeline: Pipeline) -> Optional[ClipRecorder]:
        if not s.clips.dir:
            return None
        return ClipRecorder(s.clips, pipeline.sample_rate, start_sample=pipeline.end_sample)

    def _open_source(self, s: Settings, rate: int) -> ResilientSource:
        source = ResilientSource(make_source(s.audio, rate), min_s=s.audio.reopen_min_s, max_s=s.audio.reopen_max_s,
                                 on_change=self._source_changed)
        source.open()
        return source

    # ----- running -----------------------------------------------------------------------------
    def run(self) -> int:
        """Listen until the source ends or SIGTERM/SIGINT; return the exit status (0)."""
        self.stopper.install()  # first: a signal during start-up must not kill the process
        try:
            self._start()
            assert self.rt is not None and self.source is not None
            try:
                self.notifier.ready(f"listening: {self.source.name}")
                log.info("listening: %s, model %s, device %s", self.source.name,
                         self.rt.classifier.bundle.model_id, self.rt.factory.device)
                self._loop()
            finally:
                self._shutdown()
        finally:
            self.stopper.restore()
        return 0

    def _loop(self) -> None:
        assert self.rt is not None and self.source is not None
        while not self.stopper.stop:
            if self.stopper.reload:
                self.stopper.reload = False
                self.reload()
            block = self.source.read()
            if block is None:
                log.info("end of audio: %s", self.source.name)
                return
            if block.samples.size or block.dropped:
                if self.rt.clips is not None:
                    self.rt.clips.add(block.samples)  # first: this block's events may need its audio
                self._dispatch(self.rt.pipeline.push(block.samples, dropped=block.dropped))
                self._last_audio = time.monotonic()
            self._adapt.tick()  # also while no audio comes: what was learnt is saved when a stream pauses
            if self.view is not None:
                self.view.update(self.rt.pipeline)
            self._watchdog()

    def _dispatch(self, events: Sequence[Event]) -> None:
        rt = self.rt
        assert rt is not None
        for event in events:
            event = with_counts(event, rt.sinks, self._spools)  # a status event: its counts as it goes out
            rt.sinks.emit(event)
            if rt.clips is not None:
                rt.clips.on_event(event)
            if isinstance(event, EmotionEvent):
                self._emotions += 1
                self.notifier.status(f"{describe_event(event)}; {self._emotions} emotion(s) so far")
            elif isinstance(event, StatusEvent):
                self.notifier.status(describe_event(event))
        if self.view is not None:
            for event in events:
                self.view.on_event(event)

    def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval_s
        if interval is None or self.source is None:
            return
        now = time.monotonic()
        flowing = now - self._last_audio < self.settings.audio.stall_timeout_s
        if (flowing or self.source.recovering) and now - self._last_ping >= interval:
            self.notifier.watchdog()
            self._last_ping = now

    def _shutdown(self) -> None:
        self.stopper.begin()  # the budget runs from the signal, or from here at the end of the audio
        self.notifier.stopping()
        rt = self.rt
        try:
            if rt is not None:
                try:
                    self._dispatch(rt.pipeline.finish())
                    if self.view is not None:
                        self.view.update(rt.pipeline, force=True)  # the final state stays on screen
                finally:
                    self._adapt.close()
                    close_outputs(rt.sinks, self._spools, self.stopper.left())
            if self.source is not None:
                self.source.close()
        finally:
            self.stopper.finished()

    # ----- helpers -----------------------------------------------------------------------------
    def _status_extra(self) -> dict:  # the sink and spool counts are refreshed in _dispatch
        source = {"source_faults": self.source.failures} if self.source is not None else {}
        return {**status_counts(self.rt.sinks if self.rt else None, self._spools), **source}

    def _source_changed(self, state: str) -> None:
        self.notifier.status(f"audio source {state}")

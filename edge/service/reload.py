"""SIGHUP: read the configuration file again (with the same flags) and switch to it between two
blocks, rebuilding only what changed; the user's enrolment (`ser-edge enrol`) is read again too.

`Runtime` holds what one set of settings builds; `PIPELINE_KEYS` and `SINK_KEYS` say which
settings each part depends on. An invalid file, or a part that cannot be built, leaves the
running configuration as it was (an error is logged). The pipeline is finished under the old
settings before a new one takes over, so no event is lost and the audio clock continues; the
spools that stay are handed to the new sinks with their waiting events.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Optional, Sequence

from ser_edge.config.load import load_settings
from ser_edge.config.settings import Settings
from ser_edge.errors import SerEdgeError
from ser_edge.events import EventFactory
from ser_edge.listen.pipeline import Pipeline
from ser_edge.model.classifier import Classifier
from ser_edge.sinks import MultiSink
from ser_edge.sinks.build import close_spools, open_spools
from ser_edge.sinks.spool import Spool
from ser_edge.sources import ResilientSource

from .recorder import ClipRecorder

#: the listener's logger: a reload logs as the daemon always has (the name is in every log line)
log = logging.getLogger("ser_edge.service.daemon")

#: what each kind of rebuild depends on (top-level settings fields)
PIPELINE_KEYS = ("device", "status_interval_s", "model", "gate", "smoothing", "adaptation", "adaptation_state",
                 "adaptation_save_s")
SINK_KEYS = ("device", "model", "sinks", "spool")


@dataclass
class Runtime:
    """What one set of settings builds."""

    settings: Settings
    classifier: Classifier
    factory: EventFactory
    sinks: MultiSink
    pipeline: Pipeline
    clips: Optional[ClipRecorder]


class Reloading:
    """The reload half of `ser_edge.service.daemon.Listener` (which derives from it): it uses the
    listener's state and its builders (``_core``, ``_sinks``, ``_clips``, ``_open_source``,
    ``_take_enrolment``) and
    ``_dispatch``."""

    settings: Settings
    rt: Optional[Runtime]
    source: Optional[ResilientSource]
    _spools: dict[str, Spool]

    # ----- reloading ---------------------------------------------------------------------------
    def reload(self) -> bool:
        """Re-read the configuration file (with the same flags); True if the new one runs."""
        assert self.rt is not None and self.source is not None
        self.notifier.reloading()
        self._adapt.sync()  # saves, or takes a file changed on disk (adapt reset) instead of saving over it
        old_pipeline = self.rt.pipeline
        try:
            new = load_settings(self.config_path, self.overrides)
            changed = [k for k in Settings.__dataclass_fields__ if getattr(new, k) != getattr(self.settings, k)]
            if changed:
                self._apply(new, changed)
            if self.rt.pipeline is old_pipeline:  # a new pipeline took the enrolment as it was built
                self._take_enrolment(self.settings, self.rt.pipeline, strict=False)
        except SerEdgeError as exc:
            log.error("reload failed, keeping the running configuration: %s", exc)
            self.notifier.ready("reload failed; running the previous configuration")
            return False
        log.info("configuration reloaded from %s (%s)", self.config_path or "flags",
                 "changed: " + ", ".join(changed) if changed else "no changes")
        self.notifier.ready(f"listening: {self.source.name}")
        return True

    def _apply(self, new: Settings, changed: list[str]) -> None:
        """Switch to ``new``: build first (errors keep the old), then finish and swap."""
        old = self.rt
        assert old is not None and self.source is not None
        classifier, factory, pipeline = self._core(new, old)
        clips = self._clips(new, pipeline) if new.clips != old.settings.clips or pipeline is not old.pipeline \
            else old.clips
        if pipeline is not old.pipeline:
            self._dispatch(old.pipeline.finish())  # close the open utterance under the old settings
        sinks = old.sinks
        if not _same(old.settings, new, SINK_KEYS):
            old.sinks.close()  # first: a new MQTT client may share the old one's id
            try:
                sinks = self._new_sinks(new, classifier)
            except SerEdgeError as exc:
                log.error("reload: cannot build the new outputs (%s); reopening the previous ones", exc)
                sinks = self._sinks(old.settings, old.classifier, self._spools, strict=False)
                new = dataclasses.replace(new, sinks=old.settings.sinks, spool=old.settings.spool)
        self.rt = Runtime(new, classifier, factory, sinks, pipeline, clips)
        self.settings = new
        if "audio" in changed:
            self.source.close()
            self.source = self._open_source(new, pipeline.sample_rate)

    def _new_sinks(self, s: Settings, classifier: Classifier) -> MultiSink:
        """Sinks and spools for ``s``, keeping the spools that stay; on failure nothing changes."""
        spools = open_spools(s, self._spools)
        fresh = {k: v for k, v in spools.items() if v not in self._spools.values()}
        try:
            sinks = self._sinks(s, classifier, spools)
        except BaseException:
            close_spools(fresh)
            raise
        close_spools({k: v for k, v in self._spools.items() if v not in spools.values()})
        self._spools = spools
        return sinks


def _same(a: Settings, b: Settings, keys: Sequence[str]) -> bool:
    return all(getattr(a, k) == getattr(b, k) for k in keys)

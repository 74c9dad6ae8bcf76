"""Checks of the settings beyond their keys, which need the model: what `ser-edge config check`
verifies and what the listener checks at start. (`ser_edge.config` holds plain settings only.)"""

from __future__ import annotations

import logging
import os
import stat
from typing import Optional

from ser_edge.config.settings import Settings
from ser_edge.errors import ConfigError
from ser_edge.listen.pipeline import Pipeline
from ser_edge.model.classifier import Classifier
from ser_edge.model.load import load_classifier
from ser_edge.sinks.build import mqtt_password

from .preflight import check_outputs

log = logging.getLogger(__name__)


def check_settings(s: Settings) -> Classifier:
    """What `config check` verifies beyond the keys: the model loads, the per-label thresholds and
    gate settings fit it, a password file passes its rule, the outputs can be set up
    (`preflight.check_outputs`). Opens no device and no connection. Returns the Classifier."""
    classifier = load_classifier(s.model.path, threads=s.model.threads)
    try:
        Pipeline(classifier, gate=s.gate, smoothing=s.smoothing, status_interval_s=s.status_interval_s)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (model {classifier.bundle.model_id})") from None
    mqtt_password(s.sinks)
    check_outputs(s)
    return classifier


def warn_if_exposed(path: Optional[str | os.PathLike], s: Settings) -> None:
    """Log a warning when a configuration file holding secrets may be read by every user."""
    if path is None or not (s.sinks.mqtt.password or s.sinks.webhook.headers):
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if mode & 0o004:
        log.warning("%s holds secrets and every user may read it (mode %04o): chmod 0640 it, or move the "
                    "password to sinks.mqtt.password_file", path, mode)

"""The model-dependent checks of the settings (`ser_edge.service.checks`)."""

from __future__ import annotations

import logging

import pytest

from ser_edge.config.load import load_settings
from ser_edge.errors import ConfigError
from ser_edge.service.checks import check_settings, warn_if_exposed


def test_check_settings_loads_the_model_and_checks_thresholds_against_its_labels(tmp_path):
    assert check_settings(load_settings()).labels
    path = tmp_path / "c.toml"
    path.write_text('[smoothing]\nthresholds = { "bored" = 0.5 }\n')
    with pytest.raises(ConfigError, match="bored"):
        check_settings(load_settings(path))


def test_a_world_readable_file_with_secrets_is_warned_about(tmp_path, caplog):
    path = tmp_path / "c.toml"
    path.write_text('[sinks.mqtt]\nusername = "u"\npassword = "p"\n')
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="ser_edge.service.checks"):
        warn_if_exposed(path, load_settings(path))
    assert "holds secrets and every user may read it" in caplog.text
    caplog.clear()
    path.chmod(0o640)
    warn_if_exposed(path, load_settings(path))
    assert caplog.text == ""

"""One validation style and one versioned dict form (`ser_edge.config.versioned`) for the
feature parameters, the augmentation settings and the listener settings."""

from __future__ import annotations

import pytest

from ser_edge.config.settings import GateSettings, MqttSinkSettings, Settings
from ser_edge.errors import ConfigError
from ser_edge.frontend.params import FeatureParams
from ser_train.features.augment import AugmentConfig


@pytest.mark.parametrize("make, message", [
    (lambda: FeatureParams(n_mels=0), "feature parameter n_mels=0 is invalid; allowed: a positive integer"),
    (lambda: AugmentConfig(noise_p=2.0), "augment setting noise_p=2.0 is invalid; allowed: a probability in [0, 1]"),
    (lambda: GateSettings(min_voiced=5.0), "setting min_voiced=5.0 is invalid; allowed: a number from 0.01 to 1"),
])
def test_one_message_shape_names_the_field_value_and_what_is_allowed(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value) == message


def test_settings_made_in_code_are_checked_and_secrets_stay_hidden():
    assert Settings().gate == GateSettings()
    with pytest.raises(ConfigError, match="setting port=0 is invalid"):
        MqttSinkSettings(port=0)
    with pytest.raises(ConfigError) as err:
        MqttSinkSettings(password=123)  # type: ignore[arg-type]
    assert "123" not in str(err.value) and "'***'" in str(err.value)


@pytest.mark.parametrize("cls, key", [(FeatureParams, "front_end_version"), (AugmentConfig, "augment_version")])
def test_versioned_dicts_round_trip_and_refuse_other_versions_and_keys(cls, key):
    obj = cls()
    data = obj.to_dict()
    assert data[key] == cls.VERSION and cls.from_dict(data) == obj
    assert len(obj.stable_hash()) == 16 and obj.replace().stable_hash() == obj.stable_hash()
    with pytest.raises(ConfigError, match=f"here: {key} 99 is not supported"):
        cls.from_dict({**data, key: 99}, source="here")
    with pytest.raises(ConfigError, match=rf"here: unknown {cls.WHAT}\(s\) bogus; allowed: "):
        cls.from_dict({**data, "bogus": 1}, source="here")

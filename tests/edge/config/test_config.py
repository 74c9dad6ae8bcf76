"""Configuration: the example loads and is complete; every bad key or value is one clear message."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ser_edge.cli import main
from ser_edge.config.flags import overrides_from, param_name, source_overrides
from ser_edge.config.load import FLAGS, SPECS, load_settings, render
from ser_edge.config.settings import Settings
from ser_edge.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "ser-edge.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def keys_of(table: dict, prefix: tuple = ()) -> set:
    out = set()
    for name, value in table.items():
        key = prefix + (name,)
        if isinstance(value, dict) and key not in SPECS:
            out |= keys_of(value, key)
        else:
            out.add(key)
    return out


def test_example_loads_shows_every_key_with_its_default() -> None:
    assert load_settings(EXAMPLE) == Settings()
    with open(EXAMPLE, "rb") as f:
        assert keys_of(tomllib.load(f)) == set(SPECS)


def test_config_check_prints_ok_and_the_effective_settings(tmp_path: Path) -> None:
    path = write(tmp_path, '[gate]\nmargin_db = 9\n[sinks.mqtt]\nhost = "broker"\nusername = "u"\npassword = "s3cret"\n')
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK: {path}")
    assert "margin_db = 9.0" in result.output and 'host = "broker"' in result.output
    assert "s3cret" not in result.output and 'password = "***"' in result.output


@pytest.mark.parametrize("text, words", [
    ("[gate]\nmargn_db = 9\n", ["gate.margn_db", "allowed in [gate]", "margin_db"]),
    ("[gaet]\nmargin_db = 9\n", ["'gaet'", "allowed in the top level", "gate"]),
    ('[gate]\nmargin_db = "loud"\n', ["gate.margin_db = 'loud'", "a number from 0 to 60 dB"]),
    ("[gate]\nmargin_db = 100\n", ["gate.margin_db = 100", "a number from 0 to 60 dB"]),
    ("[smoothing]\naverage_windows = 2.5\n", ["smoothing.average_windows", "an integer from 1 to 50"]),
    ('[audio]\nsource = "line-in"\n', ["audio.source = 'line-in'", "'microphone', 'stdin', 'file'"]),
    ("[audio]\nrealtime = 1\n", ["audio.realtime = 1", "true or false"]),
    ("[smoothing.thresholds]\nangry = 1.5\n", ["smoothing.thresholds", "from 0 to 1"]),
    ('[sinks.stdout]\nevent_types = ["emotion", "mood"]\n', ["sinks.stdout.event_types", "'mood'"]),
    ('[audio]\nsource = "file"\n', ["audio.file", "--from-wav"]),
    ("[audio]\nreopen_min_s = 60\nreopen_max_s = 10\n", ["audio.reopen_min_s", "reopen_max_s"]),
    ('[sinks.mqtt]\nhost = "h"\npassword = "p"\n', ["sinks.mqtt.password", "username"]),
    ("gate = 3\n", ["gate must be a table"]),
    ("[gate\nmargin_db = 9\n", ["not valid TOML", "line 1"]),
])
def test_invalid_files_give_one_message_naming_the_key(tmp_path: Path, text: str, words: list) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in words:
        assert word in message
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 78 and "error:" in result.output


def test_missing_file_and_unknown_label(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")
    path = write(tmp_path, "[smoothing.thresholds]\nfurious = 0.6\n")
    load_settings(path)  # the keys are fine; the label is checked against the model
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 78 and "'furious'" in result.output and "angry" in result.output


def test_flags_override_the_file_and_are_checked_the_same_way(tmp_path: Path) -> None:
    path = write(tmp_path, '[gate]\nmargin_db = 9\nhangover_ms = 200\n[audio]\nsource = "stdin"\n')
    settings = load_settings(path, {("gate", "margin_db"): 12.0})
    assert settings.gate.margin_db == 12.0 and settings.gate.hangover_ms == 200.0
    with pytest.raises(ConfigError) as info:
        load_settings(path, {("gate", "margin_db"): 100.0})
    assert "--gate-margin-db" in str(info.value) and "gate.margin_db = 100.0" in str(info.value)


def parse(*argv: str) -> dict:
    """The overrides the listen flags ``argv`` produce, parsed by click as the real command does."""
    from ser_edge.config.flags import schema_options

    seen = {}

    @click.command()
    @click.option("--stdin", "use_stdin", is_flag=True)
    @schema_options
    def cmd(use_stdin: bool, **options) -> None:
        overrides = overrides_from(options)
        source_overrides(use_stdin, overrides)
        seen.update(overrides)

    result = CliRunner().invoke(cmd, list(argv), standalone_mode=False)
    if result.exception:
        raise result.exception
    return seen


def test_every_key_has_a_flag_and_flags_convert_like_the_file() -> None:
    assert len(set(FLAGS.values())) == len(FLAGS)
    got = parse("--from-wav", "a.wav", "--realtime", "--mqtt-host", "pi.local", "--mqtt-port", "1884",
                "--no-stdout", "--mqtt-event-types", "emotion, status", "--threshold", "angry=0.7",
                "--webhook-header", "Authorization: Bearer x", "--command", "notify-send 'an emotion'",
                "--gate-margin-db", "8")
    assert got == {("audio", "file"): "a.wav", ("audio", "source"): "file", ("audio", "realtime"): True,
                   ("sinks", "mqtt", "host"): "pi.local", ("sinks", "mqtt", "port"): 1884,
                   ("sinks", "stdout", "enabled"): False, ("sinks", "mqtt", "event_types"): ["emotion", "status"],
                   ("smoothing", "thresholds"): {"angry": 0.7},
                   ("sinks", "webhook", "headers"): {"Authorization": "Bearer x"},
                   ("sinks", "command", "argv"): ["notify-send", "an emotion"], ("gate", "margin_db"): 8.0}
    settings = load_settings(None, got)
    assert settings.sinks.mqtt.port == 1884 and settings.smoothing.thresholds == {"angry": 0.7}
    assert parse() == {}
    assert param_name(("gate", "margin_db")) == "cfg__gate__margin_db"


def test_source_flags_conflict_as_usage_errors() -> None:
    with pytest.raises(click.UsageError, match="choose one source"):
        parse("--stdin", "--from-wav", "a.wav")
    with pytest.raises(click.UsageError, match="contradicts"):
        parse("--source", "microphone", "--stdin")
    with pytest.raises(click.UsageError, match="KEY=VALUE"):
        parse("--threshold", "angry")


def test_render_round_trips(tmp_path: Path) -> None:
    settings = load_settings(None, {("gate", "margin_db"): 7.5, ("smoothing", "thresholds"): {"sad": 0.4},
                                    ("sinks", "command", "argv"): ["echo", 'say "hi"'], ("device", ): "kitchen"})
    path = write(tmp_path, render(settings, docs=True))
    assert load_settings(path) == settings

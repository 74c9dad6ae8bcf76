"""Values no path, name or header can hold (issue 24 items 2 and 13): refused by the config layer,
so `config check`, the start of `listen` and a SIGHUP reload (tests/reliability/test_reload_values.py)
say the same one line (exit status 78 from the commands)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ser_edge.cli import main
from ser_edge.config.load import load_settings
from ser_edge.config.settings import Settings, WebhookSinkSettings
from ser_edge.errors import ConfigError

WEBHOOK = '[sinks.webhook]\nurl = "http://127.0.0.1:9/hook"\n'

#: (TOML text, words the message holds)
BAD = {
    "nul_state": ('adaptation_state = "/tmp/a\\u0000b.json"\n', ["adaptation_state", "without NUL characters"]),
    "nul_jsonl": ('[sinks.file]\npath = "/tmp/e\\u0000.jsonl"\n', ["sinks.file.path", "without NUL"]),
    "nul_clips": ('[clips]\ndir = "/tmp/c\\u0000"\n', ["clips.dir", "without NUL"]),
    "nul_argv": ('[sinks.command]\nargv = ["/bin/true", "a\\u0000"]\n', ["sinks.command.argv", "without NUL"]),
    "nul_label": ("[smoothing.thresholds]\n\"an\\u0000gry\" = 0.5\n", ["smoothing.thresholds", "without NUL"]),
    "long_path": (f'[sinks.file]\npath = "/tmp/{"a" * 5000}"\n', ["sinks.file.path", "(5007 characters)",
                                                                "at most 4096 characters"]),
    "many_args": ("[sinks.command]\nargv = [" + ", ".join(['"x"'] * 1001) + "]\n", ["at most 1000 items"]),
    "deep_array": ("[sinks.command]\nargv = " + "[" * 3000 + "]" * 3000 + "\n", ["nested too deeply"]),
    "deep_table": ("device = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", ["nested too deeply"]),
    "header_crlf": (WEBHOOK + 'headers = {"X-A" = "a\\r\\nInjected: 1"}\n', ["X-A holds a control character"]),
    "header_name": (WEBHOOK + 'headers = {"X A" = "a"}\n', ["'X A' is not a header name"]),
    "header_colon": (WEBHOOK + 'headers = {"X:A" = "a"}\n', ["'X:A' is not a header name"]),
    "header_latin1": (WEBHOOK + 'headers = {"X-A" = "caf\\u20ac"}\n', ["X-A is not Latin-1 text"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_unusable_values_are_one_config_error_in_check_and_at_start(tmp_path: Path, name: str) -> None:
    text, words = BAD[name]
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 600, message
    for word in words:
        assert word in message
    assert "a\\r\\nInjected" not in message and "caf" not in message  # header values are secret
    for command in (["config", "check", str(path)], ["listen", "--config", str(path), "--stdin"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 78, (command, result.output, result.exception)
        assert "error:" in result.output and "Traceback" not in result.output


def test_good_headers_pass_and_settings_made_in_code_are_held_to_the_same_rules() -> None:
    fine = {"Authorization": "Bearer abc.DEF-123", "X-Tab": "a\tb", "X-Latin": "caf\u00e9"}
    assert WebhookSinkSettings(url="http://127.0.0.1:9/", headers=fine).headers == fine
    with pytest.raises(ConfigError, match="not a header name"):
        WebhookSinkSettings(url="http://127.0.0.1:9/", headers={"Bad\nName": "x"})
    with pytest.raises(ConfigError, match="without NUL"):
        Settings(adaptation_state="/tmp/x\0y")

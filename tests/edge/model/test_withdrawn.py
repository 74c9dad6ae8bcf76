"""A withdrawn shipped bundle (`ser_edge.model.shipped.WITHDRAWN`; "4class" was, from issue 23 until
ser-edge-4class-v3 passed the gate and beat the baseline; here a stand-in reason): its name
is one user error, exit 78 and no traceback, from every entry point (classify, listen, info, the
configuration file, $SER_EDGE_MODEL, the API), saying that it was withdrawn, why, and what to use
instead; a bundle of that name under models/ again is taken as any other."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ser_edge import api
from ser_edge.cli import main
from ser_edge.errors import BundleError
from ser_edge.model import shipped
from ser_edge.model.shipped import WITHDRAWN, default_bundle_path, resolve_bundle

from .test_shipped_names import bundle_copy

#: what the error must say: withdrawn, why, what instead (a stand-in, patched into WITHDRAWN)
WHYNOT = ("the shipped 4-class bundle ser-edge-4class-v2 was withdrawn: it failed the class gate of ser-convert "
          "(neutral recalled 0.7 % of the time on its held-out speakers); use the shipped default (7 classes)")
REASON = re.escape(WHYNOT) + r" \(shipped: default\)"
WHY = "4class: " + REASON


@pytest.fixture(autouse=True)
def withdrawn_4class(monkeypatch: pytest.MonkeyPatch) -> None:
    """"4class" withdrawn, as it was from issue 23 until ser-edge-4class-v3."""
    monkeypatch.setitem(WITHDRAWN, "4class", WHYNOT)


@pytest.fixture(scope="module")
def default_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models/ folder that ships "default" alone, as the checkout does since the withdrawal."""
    root = tmp_path_factory.mktemp("models")
    bundle_copy(root / "default", "test-default")
    return root


@pytest.fixture
def shipped_here(default_only: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `default_only` the only place shipped bundles are looked for."""
    monkeypatch.setattr(shipped, "shipped_roots", lambda: [default_only])
    monkeypatch.delenv("SER_EDGE_MODEL", raising=False)
    api._recognizer.cache_clear()
    yield default_only
    api._recognizer.cache_clear()


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a quiet 220 Hz tone, 16 kHz mono int16: audio any command would read."""
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    t = np.arange(32000) / 16000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((3000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes())
    return path


def test_the_checkout_ships_no_withdrawn_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(WITHDRAWN, "4class")
    assert not set(WITHDRAWN) & set(shipped.shipped_bundles())
    assert "4class" in shipped.shipped_bundles()  # ser-edge-4class-v3 replaced the withdrawn one


def test_the_name_says_why_and_what_instead(default_only: Path) -> None:
    with pytest.raises(BundleError, match=f"^{WHY}$"):
        resolve_bundle("4class", [default_only])
    with pytest.raises(BundleError, match=r"^\./4class: no model bundle there \(expected a folder"):
        resolve_bundle("./4class", [default_only])  # a path, not a name: not looked up


def test_a_bundle_of_that_name_shipped_again_is_taken(default_only: Path, tmp_path: Path) -> None:
    again = bundle_copy(tmp_path / "4class", "test-4class-v3")
    assert resolve_bundle("4class", [default_only, tmp_path]) == again


def test_the_environment_and_the_api_say_it_too(shipped_here: Path, wav: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BundleError, match=f"^{WHY}$"):
        api.classify(wav, model="4class")
    with pytest.raises(BundleError, match=f"^{WHY}$"):
        next(iter(api.iter_events(wav, model="4class")))
    monkeypatch.setenv("SER_EDGE_MODEL", "4class")
    with pytest.raises(BundleError, match=rf"^\$SER_EDGE_MODEL='4class': {REASON}$"):
        default_bundle_path()


@pytest.mark.parametrize("args", [["classify", "-m", "4class"], ["classify", "--model", "4class", "--json"],
                                  ["listen", "--model", "4class", "--from-wav"], ["info", "4class"]])
def test_every_command_refuses_it_in_one_line(shipped_here: Path, wav: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, args + ([] if args[0] == "info" else [str(wav)]), prog_name="ser-edge")
    assert result.exit_code == 78, result.output  # as every configuration or model error
    assert re.search(rf"^ser-edge: error: {WHY}$", result.output, re.MULTILINE), result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_the_configuration_file_refuses_it(shipped_here: Path, tmp_path: Path, wav: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[model]\npath = "4class"\n')
    for args in (["config", "check", str(config)], ["listen", "--config", str(config), "--from-wav", str(wav)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 78, result.output
        assert "was withdrawn: it failed the class gate" in result.output and "Traceback" not in result.output

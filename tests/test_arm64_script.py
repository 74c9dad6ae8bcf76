"""scripts/arm64-check: cheap static checks only (the real run needs root, debootstrap and
qemu and takes minutes; see docs/RASPBERRY_PI.md)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "arm64-check"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], check=False, capture_output=True, text=True, timeout=30)


def test_is_valid_bash_and_executable():
    assert SCRIPT.stat().st_mode & 0o111, "scripts/arm64-check should be executable"
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)


def test_help_prints_usage_and_exits_0():
    result = run("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: scripts/arm64-check")
    for option in ("--clean", "--cache", "--data", "--tolerance", "--mode"):
        assert option in result.stdout


@pytest.mark.parametrize("args", [("--bogus",), ("--mode", "sideways"), ("--tolerance", "lots")])
def test_bad_arguments_are_usage_errors(args):
    result = run(*args)
    assert result.returncode == 2
    assert "arm64-check:" in result.stderr

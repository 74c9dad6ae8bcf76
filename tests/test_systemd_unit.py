"""systemd/ser-edge.service: systemd accepts it, it is hardened, and its exposure stays "OK"."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ser_edge.errors import BundleError, ConfigError

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "ser-edge.service"
EXEC_START = "/opt/ser-edge/venv/bin/ser-edge listen --config /etc/ser-edge/config.toml"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values in order]}}; keys may repeat, as systemd allows."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"key outside a section: {line!r}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


@pytest.fixture
def runnable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at /bin/true, which exists on a test machine."""
    text = UNIT.read_text(encoding="utf-8")
    copy = tmp_path / "ser-edge.service"
    copy.write_text(re.sub(r"(?m)^ExecStart=\S+", "ExecStart=/bin/true", text), encoding="utf-8")
    return copy


def systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd): cannot verify the unit")
    return tool


def complaints(output: str, unit_name: str) -> list[str]:
    """Lines of verify output, minus those about other units on the host (pulled in as dependencies)."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    other_unit = re.compile(r"^/\S+\.(service|target|socket|mount|timer|path|slice):")
    return [ln for ln in lines if unit_name in ln or not other_unit.match(ln)]


def test_systemd_analyze_verify_accepts_the_unit(runnable_copy: Path) -> None:
    result = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", str(runnable_copy)], capture_output=True, text=True, timeout=60
    )
    problems = complaints(result.stdout + result.stderr, runnable_copy.name)
    assert result.returncode == 0 and not problems, "\n".join(problems)


def test_the_only_complaint_about_the_original_is_the_absent_binary() -> None:
    if Path(EXEC_START.split()[0]).exists():
        pytest.skip("ser-edge is installed here: the original unit is verified as it is")
    result = subprocess.run([systemd_analyze(), "verify", "--man=no", str(UNIT)], capture_output=True, text=True, timeout=60)
    problems = complaints(result.stdout + result.stderr, UNIT.name)
    assert len(problems) == 1 and "/opt/ser-edge/venv/bin/ser-edge is not executable" in problems[0], problems


def test_service_settings(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    expected = {
        "Type": "notify",
        "ExecStart": EXEC_START,
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "User": "ser-edge",
        "Group": "ser-edge",
        "SupplementaryGroups": "audio",
        "Restart": "on-failure",
        "RestartSec": "5",
        "WatchdogSec": "30",
        "StandardOutput": "journal",
        "StandardError": "journal",
        "StateDirectory": "ser-edge",
        "LogsDirectory": "ser-edge",
        "ConfigurationDirectory": "ser-edge",
        "MemoryMax": "200M",
        "UMask": "0077",
    }
    assert {k: service.get(k, [None])[-1] for k in expected} == expected
    # the exit status systemd must not retry is the one the CLI uses for config and model errors
    assert service["RestartPreventExitStatus"] == [str(ConfigError.exit_code)] == [str(BundleError.exit_code)]
    assert {"StartLimitIntervalSec", "StartLimitBurst"} <= set(unit["Unit"])
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_hardening_settings(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    flags = (
        "NoNewPrivileges ProtectHome PrivateTmp ProtectKernelTunables ProtectKernelModules ProtectKernelLogs "
        "ProtectControlGroups ProtectClock ProtectHostname RestrictNamespaces RestrictRealtime "
        "RestrictSUIDSGID LockPersonality MemoryDenyWriteExecute"
    ).split()
    assert {k: service.get(k, [None])[-1] for k in flags} == {k: "yes" for k in flags}
    assert service["ProtectSystem"] == ["strict"]
    assert service["CapabilityBoundingSet"] == [""]
    assert service["SystemCallArchitectures"] == ["native"]
    assert service["SystemCallFilter"][0] == "@system-service"
    assert service["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    # the microphone must stay reachable: no private /dev, only ALSA devices allowed
    assert service.get("PrivateDevices", ["no"])[-1] == "no"
    assert service["DevicePolicy"] == ["closed"]
    assert service["DeviceAllow"] == ["char-alsa rw"]


def test_security_exposure_is_ok(runnable_copy: Path) -> None:
    tool = systemd_analyze()
    result = subprocess.run([tool, "security", "--offline=true", str(runnable_copy)], capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    if match is None:
        pytest.skip(f"systemd-analyze security --offline needs systemd >= 252: {result.stderr.strip()[:200]}")
    exposure = float(match.group(1))
    print(f"systemd-analyze security exposure: {exposure}")
    assert exposure < 4.0, result.stdout

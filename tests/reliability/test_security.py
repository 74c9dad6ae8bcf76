"""Security: secrets only from private files, broker credentials and TLS trust checked against a
real mosquitto (a refusal at start is one line and exit status 78), no audio at rest by default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_edge.sinks.secretfile import read_secret_file

from ..mosquitto import HOST, Broker
from ..wavgen import write_wav
from .support import SER_EDGE, DurableSubscriber, Listener, env, first_seen, run

pytest.importorskip("paho.mqtt.client", reason="paho-mqtt not installed (pip install 'ser-edge[mqtt]')")

ROOT = os.geteuid() == 0


def secret(tmp_path: Path, mode: int, text: str = "s3cret\n", name: str = "password") -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640, 0o440])
def test_private_password_files_are_read(tmp_path: Path, mode: int) -> None:
    # as root, the file is root:root and root's own group is the service's group: 0640 is allowed too
    if mode & 0o040 and not ROOT:
        pytest.skip("group-readable files are allowed only when root owns them")
    assert read_secret_file(str(secret(tmp_path, mode, "s3cret\r\nignored\n")), "key") == "s3cret"


@pytest.mark.parametrize("mode, problem", [(0o644, "other users may access it"), (0o604, "other users may access it"),
                                           (0o660, "its group may change it"), (0o602, "other users may access it")])
def test_password_files_others_could_read_or_change_are_refused(tmp_path: Path, mode: int, problem: str) -> None:
    path = secret(tmp_path, mode)
    with pytest.raises(ConfigError) as info:
        read_secret_file(str(path), "sinks.mqtt.password_file")
    message = str(info.value)
    assert message.startswith(f"sinks.mqtt.password_file {path}: refused, {problem} (mode {mode:04o}")
    assert "allowed: 0600 owned by" in message and "s3cret" not in message


@pytest.mark.skipif(not ROOT, reason="needs root to give the file away")
def test_group_read_needs_the_services_own_group_and_owner_root_or_service(tmp_path: Path) -> None:
    other_group = secret(tmp_path, 0o640, name="other-group")
    os.chown(other_group, 0, 4242)  # root:<some other group> 0640: that group's members could read it
    with pytest.raises(ConfigError, match="group 4242 may read it"):
        read_secret_file(str(other_group), "key")
    stranger = secret(tmp_path, 0o600, name="stranger")
    os.chown(stranger, 4242, 0)  # another user's file: they could loosen its mode at any time
    with pytest.raises(ConfigError, match="it belongs to 4242, not to root"):
        read_secret_file(str(stranger), "key")


def test_odd_password_files(tmp_path: Path) -> None:
    good = secret(tmp_path, 0o600)
    (tmp_path / "link").symlink_to(good)
    assert read_secret_file(str(tmp_path / "link"), "key") == "s3cret"  # the target is what counts
    empty = secret(tmp_path, 0o600, "\n", "empty")
    for path, text in [(tmp_path, "not a regular file"), (empty, "first line is empty"),
                       (tmp_path / "missing", r"cannot open it \(No such file or directory\)")]:
        with pytest.raises(ConfigError, match=text):
            read_secret_file(str(path), "key")


# ----- a broker that wants a password --------------------------------------------------------
@pytest.fixture(scope="module")
def password_broker(tmp_path_factory: pytest.TempPathFactory):
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not installed (apt-get install mosquitto)")
    folder = tmp_path_factory.mktemp("auth")
    subprocess.run([tool, "-b", "-c", str(folder / "passwd"), "ser-edge", "right-password"], check=True)
    broker = Broker(folder, password_file=folder / "passwd")
    yield broker, folder
    broker.stop()


@pytest.fixture(scope="module")
def short_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("wav") / "tone.wav", 0.3 * np.sin(np.arange(32000) * 0.1))


def listen_to(broker: Broker, wav: Path, *args: str) -> subprocess.CompletedProcess:
    return run(SER_EDGE + ["listen", "--from-wav", str(wav), "--no-stdout", "--mqtt-host", HOST,
                           "--mqtt-port", str(broker.port), *args], timeout=60)


@pytest.mark.parametrize("who, args, reason", [
    ("wrong password", ["--mqtt-username", "ser-edge", "--mqtt-password-file", "{wrong}"], "Not authorized"),
    ("unknown user", ["--mqtt-username", "mallory", "--mqtt-password-file", "{right}"], "Not authorized"),
    ("no credentials", [], "Not authorized"),
])
def test_refused_credentials_stop_listen_with_one_line_and_78(password_broker, short_wav: Path, tmp_path: Path,
                                                             who: str, args: list, reason: str) -> None:
    broker, _ = password_broker
    files = {"{wrong}": str(secret(tmp_path, 0o600, "guess\n", "wrong")),
             "{right}": str(secret(tmp_path, 0o600, "right-password\n", "right"))}
    done = listen_to(broker, short_wav, *[files.get(a, a) for a in args])
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert done.returncode == 78, (who, done.stderr)
    assert len(errors) == 1 and f"sinks.mqtt: broker {HOST}:{broker.port}: refused the connection: {reason}" \
        in errors[0], (who, done.stderr)
    assert any(f"MQTT broker {HOST}:{broker.port} refused the connection: {reason}" in line and "ERROR" in line
               for line in done.stderr.splitlines())  # the log line, for the journal
    assert "right-password" not in done.stderr and "guess" not in done.stderr


def test_right_credentials_from_a_private_file_deliver(password_broker, short_wav: Path, tmp_path: Path) -> None:
    broker, _ = password_broker
    device = f"auth-{uuid.uuid4().hex[:6]}"
    sub = DurableSubscriber(broker.port, f"ser-edge/{device}/event", auth=("ser-edge", "right-password"))
    try:
        password = secret(tmp_path, 0o600, "right-password\n")
        done = listen_to(broker, short_wav, "--device-name", device, "--mqtt-username", "ser-edge",
                         "--mqtt-password-file", str(password), "--jsonl", str(tmp_path / "e.jsonl"))
        assert done.returncode == 0, done.stderr
        events = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
        assert [json.loads(p) for p in first_seen(sub.wait(len(events)))] == events
    finally:
        sub.close()


# ----- TLS -------------------------------------------------------------------------------------
def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", f"/CN={name}")
    return cert, key


def server_cert(folder: Path, ca: tuple[Path, Path], names: str) -> tuple[Path, Path]:
    key, csr, cert, ext = (folder / f"server-{n}" for n in ("key.pem", "csr.pem", "cert.pem", "ext.cnf"))
    ext.write_text(f"subjectAltName={names}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=broker")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return cert, key


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    folder = tmp_path_factory.mktemp("tls")
    ca, wrong_ca = make_ca(folder, "test-ca"), make_ca(folder, "other-ca")
    cert, key = server_cert(folder, ca, "DNS:localhost,IP:127.0.0.1")
    broker = Broker(folder, tls=(ca[0], cert, key))
    yield broker, ca[0], wrong_ca[0]
    broker.stop()


def test_tls_with_the_right_ca_delivers(tls_broker, short_wav: Path, tmp_path: Path) -> None:
    broker, ca, _ = tls_broker
    device = f"tls-{uuid.uuid4().hex[:6]}"
    sub = DurableSubscriber(broker.port, f"ser-edge/{device}/event", ca_file=ca)
    try:
        done = listen_to(broker, short_wav, "--device-name", device, "--mqtt-ca-file", str(ca),
                         "--jsonl", str(tmp_path / "e.jsonl"))
        assert done.returncode == 0 and "(TLS)" in done.stderr, done.stderr
        events = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
        assert [json.loads(p) for p in first_seen(sub.wait(len(events)))] == events
    finally:
        sub.close()


@pytest.mark.parametrize("args", [["--mqtt-ca-file", "{wrong}"], ["--mqtt-tls"],
                                  ["--mqtt-ca-file", "{wrong}", "--mqtt-tls-insecure"]],
                         ids=["another CA", "system CAs", "another CA, host name not checked"])
def test_tls_with_an_untrusted_certificate_stops_listen_with_78(tls_broker, short_wav: Path, args: list) -> None:
    broker, _, wrong = tls_broker
    done = listen_to(broker, short_wav, *[str(wrong) if a == "{wrong}" else a for a in args])
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert done.returncode == 78, done.stderr
    assert len(errors) == 1 and "TLS: the broker's certificate is not trusted (" in errors[0], done.stderr


def test_tls_host_name_is_checked_unless_told_not_to(tmp_path: Path, short_wav: Path) -> None:
    folder = tmp_path / "tls"
    folder.mkdir()
    ca = make_ca(folder, "ca")
    cert, key = server_cert(folder, ca, "DNS:broker.example")  # not the name we connect to
    broker = Broker(folder, tls=(ca[0], cert, key))
    try:
        done = listen_to(broker, short_wav, "--mqtt-ca-file", str(ca[0]))
        assert done.returncode == 78 and "IP address mismatch" in done.stderr, done.stderr
        done = listen_to(broker, short_wav, "--mqtt-ca-file", str(ca[0]), "--mqtt-tls-insecure")
        assert done.returncode == 0 and "host-name verification is OFF" in done.stderr, done.stderr
    finally:
        broker.stop()


# ----- nothing at rest -------------------------------------------------------------------------
def test_no_audio_or_anything_else_at_rest_by_default(short_wav: Path, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    for folder in (home, work, tmp_path / "tmp"):
        folder.mkdir()
    environ = env(HOME=str(home), TMPDIR=str(tmp_path / "tmp"), XDG_CACHE_HOME=str(home / ".cache"))
    environ.pop("STATE_DIRECTORY", None)
    done = subprocess.run(SER_EDGE + ["listen", "--from-wav", str(short_wav)], cwd=work, env=environ,
                          capture_output=True, timeout=60)
    assert done.returncode == 0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_disk_spool_holds_events_only_and_privately(short_wav: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    listener = Listener("--stdin", "--no-stdout", "--mqtt-host", HOST, "--mqtt-port", "9", "--spool-dir", str(spool),
                        "--status-interval", "0.5")
    try:
        listener.feed(short_wav.read_bytes()[44:])
        assert listener.end() == 0, listener.stderr()
    finally:
        listener.stop()
    files = list((spool / "mqtt").glob("*.jsonl"))
    assert files and all(oct(p.stat().st_mode & 0o777) == "0o600" for p in files)
    assert oct(spool.stat().st_mode & 0o777) == "0o700" and oct((spool / "mqtt").stat().st_mode & 0o777) == "0o700"
    for line in b"".join(p.read_bytes() for p in files).splitlines():
        record = json.loads(line)
        assert set(record) == {"id", "event"} and record["event"]["type"] in ("status", "speech_start", "speech_end",
                                                                                "emotion")

"""The holes of issue 15 (items 1, 3, 4, 8, 9, 11 and the smaller ones), each reproduced from outside:
absurd WAV headers in small sparse files, FIFOs and pipes, a closed stdin, a tampered manifest,
secrets on the command line, names holding a newline. Every child runs with a timeout, so a
regression that hangs fails instead."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ser_edge.audio.read import load_audio
from ser_edge.events import EmotionEvent, event_from_json

from ..wavgen import write_wav
from .support import SER_EDGE, child_rss, env, run

CLIP = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"  # angry, strong
MODEL = Path(__file__).resolve().parents[2] / "models" / "default"
#: a hang is a failure: no child may take longer than this, s
LIMIT_S = 60


@pytest.fixture(scope="module")
def speech(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The angry clip as a 16-bit mono WAV at 16 kHz."""
    return write_wav(tmp_path_factory.mktemp("speech") / "angry.wav", load_audio(data_dir / CLIP))


def sparse_wav(path: Path, *, channels: int, rate: int = 768000, bits: int = 64, size: int = 256 << 20) -> Path:
    """A float WAV of ``size`` bytes (sparse: a few kB on disk) whose header declares ``channels``
    channels of ``bits``-bit float at ``rate`` Hz (the generator of issue 15)."""
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", size - 8) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 3, channels, rate, 0, 0, bits)
                + b"data" + struct.pack("<I", size - 44))
        f.truncate(size)
    return path


# ----- 1. a WAV header decides the block size ------------------------------------------------------

def test_an_absurd_wav_header_is_one_error_naming_the_file_and_the_batch_goes_on(speech: Path, tmp_path: Path) -> None:
    bad = sparse_wav(tmp_path / "b.wav", channels=65535)
    code, rss, out, err = child_rss(["classify", "-q", "-m", str(MODEL), str(bad), str(speech)])
    assert code == 1, err
    assert f"{bad}: 65535 channels is not supported; allowed: 1-64" in err and "Traceback" not in err
    assert out.startswith(f"{speech}\tangry"), out  # the rest of the batch was classified
    code_l, rss_l, out_l, err_l = child_rss(["listen", "-q", "--model", str(MODEL), "--from-wav", str(bad)])
    assert code_l == 65 and f"{bad}: 65535 channels is not supported" in err_l and out_l == ""
    assert rss < 150_000 and rss_l < 150_000, (rss, rss_l)  # was 711 MB and 717 MB


def test_the_widest_allowed_wav_streams_in_bounded_blocks(speech: Path, tmp_path: Path) -> None:
    """64 channels of float64 at 768 kHz (256 MB, sparse) is allowed: read in blocks of at most 1 MB."""
    wide = sparse_wav(tmp_path / "wide.wav", channels=64)
    results = {}
    for name, path in (("short", speech), ("wide", wide)):
        results["classify", name] = child_rss(["classify", "-q", "-m", str(MODEL), str(path)])
        results["listen", name] = child_rss(["listen", "-q", "--model", str(MODEL), "--from-wav", str(path)])
    for (command, name), (code, rss, out, err) in results.items():
        assert code == 0, (command, name, err)
    for command in ("classify", "listen"):
        short, wide_rss = results[command, "short"][1], results[command, "wide"][1]
        assert wide_rss < short + 30_000, f"{command}: peak RSS {wide_rss} kB for 256 MB of samples vs {short} kB"


# ----- 3. FIFOs and pipes --------------------------------------------------------------------------

def test_a_wav_through_a_pipe_is_read_as_a_stream(speech: Path) -> None:
    with open(speech, "rb") as f:
        classified = run(SER_EDGE + ["classify", "-q", "-m", str(MODEL), "/dev/stdin"], stdin=f, timeout=LIMIT_S)
    assert classified.returncode == 0 and classified.stdout.startswith("/dev/stdin\tangry"), classified.stderr
    from_file = run(SER_EDGE + ["listen", "-q", "--model", str(MODEL), "--from-wav", str(speech)], timeout=LIMIT_S)
    cat = subprocess.Popen(["cat", str(speech)], stdout=subprocess.PIPE)
    piped = run(SER_EDGE + ["listen", "-q", "--model", str(MODEL), "--from-wav", "/dev/stdin"], stdin=cat.stdout,
                timeout=LIMIT_S)
    cat.wait(LIMIT_S)
    assert piped.returncode == 0, piped.stderr

    def emotions(text: str) -> list:
        return [(e.label, e.start_s, e.end_s) for e in map(event_from_json, text.splitlines()) if isinstance(e, EmotionEvent)]

    assert emotions(piped.stdout) == emotions(from_file.stdout) != []


def test_a_fifo_with_a_writer_is_classified(speech: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "in.wav"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as f:  # blocks until the reader opens it
            f.write(speech.read_bytes())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    done = run(SER_EDGE + ["classify", "-q", "-m", str(MODEL), str(fifo)], timeout=LIMIT_S)
    writer.join(5)
    assert done.returncode == 0 and done.stdout.startswith(f"{fifo}\tangry"), done.stderr


def test_a_fifo_nobody_writes_to_never_hangs(speech: Path, tmp_path: Path) -> None:
    """classify, --from-wav and password_file: each ends with one line naming the FIFO."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    config = tmp_path / "mqtt.toml"
    config.write_text(f'[sinks.mqtt]\nhost = "127.0.0.1"\nusername = "u"\npassword_file = "{fifo}"\n')
    commands = {
        "classify": ["classify", "-q", "-m", str(MODEL), str(fifo), str(speech)],
        "listen": ["listen", "-q", "--model", str(MODEL), "--from-wav", str(fifo)],
        "password_file": ["listen", "-q", "--model", str(MODEL), "--config", str(config), "--from-wav", str(speech)],
        "config check": ["config", "check", str(config)],
    }
    with ThreadPoolExecutor(len(commands)) as pool:
        done = dict(zip(commands, pool.map(lambda args: run(SER_EDGE + args, timeout=LIMIT_S), commands.values())))
    idle = f"{fifo}: no data for 10 s (a pipe or FIFO that nobody writes to?)"
    assert done["classify"].returncode == 1 and idle in done["classify"].stderr
    assert done["classify"].stdout.startswith(f"{speech}\tangry")
    assert done["listen"].returncode == 65 and idle in done["listen"].stderr
    for name in ("password_file", "config check"):
        assert done[name].returncode == 78, (name, done[name].stderr)
        assert f"sinks.mqtt.password_file {fifo}: not a regular file" in done[name].stderr


# ----- 4. a closed stdin ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["closed", "write-only"])
def test_listen_stdin_refuses_a_closed_or_write_only_stdin(how: str) -> None:
    """With stdin closed, the model file took descriptor 0 and was classified as audio (exit 0)."""
    if how == "closed":
        stdin, preexec = None, lambda: os.close(0)
    else:
        stdin, preexec = open(os.devnull, "wb"), None
    try:
        done = subprocess.run(SER_EDGE + ["listen", "-q", "--model", str(MODEL), "--stdin"], stdin=stdin,
                              preexec_fn=preexec, capture_output=True, text=True, timeout=LIMIT_S, env=env())
    finally:
        if stdin is not None:
            stdin.close()
    assert done.returncode == 78, done.stderr
    expected = "standard input is closed" if how == "closed" else "open for writing only"
    assert expected in done.stderr and done.stdout == "" and "Traceback" not in done.stderr


# ----- 8. the whole manifest is covered ------------------------------------------------------------

def test_swapped_labels_in_the_manifest_are_refused(speech: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "swapped"
    bundle.mkdir()
    (bundle / "model.tflite").write_bytes((MODEL / "model.tflite").read_bytes())
    manifest = json.loads((MODEL / "manifest.json").read_text())
    labels = manifest["labels"]
    i, j = labels.index("happy"), labels.index("angry")
    labels[i], labels[j] = labels[j], labels[i]
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for args in (["classify", str(speech)], ["listen", "--from-wav", str(speech)], ["info", str(bundle)]):
        if args[0] != "info":
            args = [args[0], "--model", str(bundle), *args[1:]]
        done = run(SER_EDGE + args, timeout=LIMIT_S)
        assert done.returncode == 78, (args, done.stdout, done.stderr)  # was: "happy 0.94", exit 0
        assert f"{bundle}: manifest.json does not match its manifest_sha256" in done.stderr


def test_the_shipped_manifest_is_stamped_and_an_unstamped_one_loads_with_a_warning(speech: Path,
                                                                                tmp_path: Path) -> None:
    from ser_edge.model.bundle import manifest_digest

    manifest = json.loads((MODEL / "manifest.json").read_text())
    assert manifest["manifest_sha256"] == manifest_digest(manifest)
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.tflite").write_bytes((MODEL / "model.tflite").read_bytes())
    del manifest["manifest_sha256"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    done = run(SER_EDGE + ["classify", "-m", str(old), str(speech)], timeout=LIMIT_S)
    assert done.returncode == 0 and done.stdout.startswith(f"{speech}\tangry"), done.stderr
    assert "manifest.json has no manifest_sha256: its labels and parameters are not covered" in done.stderr


# ----- 9. secrets on the command line --------------------------------------------------------------

def test_secrets_given_as_flags_are_warned_about(speech: Path) -> None:
    args = ["listen", "--model", str(MODEL), "--from-wav", str(speech), "--mqtt-host", "127.0.0.1", "--mqtt-port", "9",
            "--mqtt-username", "u", "--mqtt-password", "s3cret", "--webhook-url", "http://127.0.0.1:9/e",
            "--webhook-header", "Authorization=Bearer s3cret", "--webhook-close-timeout-s", "0.1",
            "--mqtt-flush-timeout-s", "0.1"]
    done = run(SER_EDGE + args, timeout=LIMIT_S)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "visible to every local user" in line]
    assert len(warnings) == 2, done.stderr
    assert "--mqtt-password is visible" in warnings[0] and "sinks.mqtt.password_file" in warnings[0]
    assert "--webhook-header is visible" in warnings[1] and "[sinks.webhook] headers" in warnings[1]
    assert "s3cret" not in done.stderr


# ----- 11. a name holding a newline ----------------------------------------------------------------

def test_a_name_with_a_newline_stays_on_one_line(speech: Path, tmp_path: Path) -> None:
    forged = "x.wav\n2026-12-01 00:00:00,000 ERROR ser_edge: forged"
    good = tmp_path / f"good{forged}"
    good.write_bytes(speech.read_bytes())
    missing = tmp_path / f"missing{forged}"
    bad = tmp_path / f"bad{forged}"
    bad.write_bytes(b"not audio at all")
    done = run(SER_EDGE + ["classify", "-q", "-m", str(MODEL), str(good), str(missing), str(bad)], timeout=LIMIT_S)
    listened = run(SER_EDGE + ["listen", "--model", str(MODEL), "--from-wav", str(good)], timeout=LIMIT_S)
    refused = run(SER_EDGE + ["listen", "--model", str(MODEL), "--from-wav", str(bad)], timeout=LIMIT_S)
    assert done.returncode == 1 and listened.returncode == 0 and refused.returncode == 65
    for text in (done.stdout, done.stderr, listened.stderr, refused.stderr):
        assert "forged" in text and not any(line.startswith("2026-12-01 00:00:00") for line in text.splitlines()), text
    assert done.stdout.startswith(repr(str(good)) + "\tangry")
    assert f"{str(missing)!r}: no such file" in done.stderr
    assert f"error: {str(bad)!r}: not a recognised audio file" in refused.stderr


# ----- smaller -------------------------------------------------------------------------------------

def test_config_check_refuses_what_listen_refuses(speech: Path, tmp_path: Path) -> None:
    cases = {
        "hook": ('[sinks.command]\nargv = ["no-such-program-here"]\n',
                 "command hook program 'no-such-program-here' not found or not executable"),
        "jsonl": ('[sinks.file]\npath = "/proc/ser-edge/events.jsonl"\n',
                  "cannot open the event file /proc/ser-edge/events.jsonl for appending: No such file or directory"),
        "clips": ('[clips]\ndir = "/proc/ser-edge-clips"\n',
                  "clips.dir /proc/ser-edge-clips: cannot create the folder (No such file or directory)"),
    }
    for name, (text, message) in cases.items():
        config = tmp_path / f"{name}.toml"
        config.write_text(text)
        checked = run(SER_EDGE + ["config", "check", str(config)], timeout=LIMIT_S)
        listened = run(SER_EDGE + ["listen", "-q", "-c", str(config), "--from-wav", str(speech)], timeout=LIMIT_S)
        for done in (checked, listened):
            assert done.returncode == 78 and message in done.stderr, (name, done.stderr)
    fine = tmp_path / "fine.toml"
    fine.write_text(f'[sinks.file]\npath = "{tmp_path}/new/events.jsonl"\n[clips]\ndir = "{tmp_path}/clips/a"\n')
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run(SER_EDGE + ["config", "check", str(fine)], timeout=LIMIT_S)
    assert done.returncode == 0 and done.stdout.startswith(f"OK: {fine}"), done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # checked, nothing left behind


def test_a_folder_as_the_config_file_exits_78(tmp_path: Path) -> None:
    for args in (["config", "check", str(tmp_path)], ["listen", "-c", str(tmp_path), "--from-wav", "x.wav"]):
        done = run(SER_EDGE + args, timeout=LIMIT_S)
        assert done.returncode == 78, done.stderr  # was click's 2
        assert f"{tmp_path}: is a directory, not a configuration file" in done.stderr


def test_listen_takes_m_for_the_model_and_q_hides_the_xnnpack_line(speech: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-bundle"
    done = run(SER_EDGE + ["listen", "-q", "-m", str(missing), "--from-wav", str(speech)], timeout=LIMIT_S)
    assert done.returncode == 78 and f"{missing}: no model bundle there" in done.stderr
    for args in (["classify", "-q", "-m", str(MODEL), str(speech)], ["listen", "-q", "-m", str(MODEL), "--from-wav", str(speech)]):
        done = run(SER_EDGE + args, timeout=LIMIT_S)
        assert done.returncode == 0 and done.stderr == "", (args, done.stderr)  # no "INFO: Created TensorFlow Lite XNNPACK"
    verbose = run(SER_EDGE + ["classify", "-v", "-m", str(MODEL), str(speech)], timeout=LIMIT_S)
    # the runtime's line is a log record now: shown with -v, never raw
    assert "INFO ser_edge.model.interpreter: Created TensorFlow Lite XNNPACK delegate" in verbose.stderr
    assert "INFO: Created" not in verbose.stderr

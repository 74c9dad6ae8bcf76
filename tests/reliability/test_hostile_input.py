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

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.listen.events import EmotionEvent, event_from_json

from ..wavgen import write_wav
from .support import RATE, SER_EDGE, env, run

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


def child_rss(args: list[str]) -> tuple[int, int, str, str]:
    """(exit status, peak RSS in kB from wait4's rusage, stdout, stderr) of a `ser-edge` child,
    killed after LIMIT_S."""
    with open(os.devnull, "rb") as null:
        proc = subprocess.Popen(SER_EDGE + args, stdin=null, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    timer = threading.Timer(LIMIT_S, proc.kill)
    timer.start()
    outs: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda k=k, s=s: outs.__setitem__(k, s.read()))
               for k, s in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss, outs["out"].decode(), outs["err"].decode()


# ----- 1. a WAV header decides the block size ------------------------------------------------------

def test_an_absurd_wav_header_is_one_error_naming_the_file_and_the_batch_goes_on(speech: Path, tmp_path: Path) -> None:
    bad = sparse_wav(tmp_path / "b.wav", channels=65535)
    code, rss, out, err = child_rss(["classify", "-q", "-m", str(MODEL), str(bad), str(speech)])
    assert code == 1, err
    assert f"{bad}: 65535 channels is not supported; allowed: 1-64" in err and "Traceback" not in err
    assert out.startswith(f"{speech}\tangry"), out  # the rest of the batch was classified
    code_l, rss_l, out_l, err_l = child_rss(["listen", "-q", "-m", str(MODEL), "--from-wav", str(bad)])
    assert code_l == 65 and f"{bad}: 65535 channels is not supported" in err_l and out_l == ""
    assert rss < 150_000 and rss_l < 150_000, (rss, rss_l)  # was 711 MB and 717 MB


def test_the_widest_allowed_wav_streams_in_bounded_blocks(speech: Path, tmp_path: Path) -> None:
    """64 channels of float64 at 768 kHz (256 MB, sparse) is allowed: read in blocks of at most 1 MB."""
    wide = sparse_wav(tmp_path / "wide.wav", channels=64)
    results = {}
    for name, path in (("short", speech), ("wide", wide)):
        results["classify", name] = child_rss(["classify", "-q", "-m", str(MODEL), str(path)])
        results["listen", name] = child_rss(["listen", "-q", "-m", str(MODEL), "--from-wav", str(path)])
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
    from_file = run(SER_EDGE + ["listen", "-q", "-m", str(MODEL), "--from-wav", str(speech)], timeout=LIMIT_S)
    cat = subprocess.Popen(["cat", str(speech)], stdout=subprocess.PIPE)
    piped = run(SER_EDGE + ["listen", "-q", "-m", str(MODEL), "--from-wav", "/dev/stdin"], stdin=cat.stdout,
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
        "listen": ["listen", "-q", "-m", str(MODEL), "--from-wav", str(fifo)],
        "password_file": ["listen", "-q", "-m", str(MODEL), "--config", str(config), "--from-wav", str(speech)],
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

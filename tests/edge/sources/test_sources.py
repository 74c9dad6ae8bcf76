"""Audio sources with real files, pipes, FIFOs and (through ALSA's file plugin) a PortAudio device."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.audio.wavfile import read_wav
from ser_edge.config.settings import AudioSettings
from ser_edge.errors import AudioError, SourceError
from ser_edge.sources import ArraySource, FileSource, IterableSource, MicrophoneSource, ResilientSource, StdinSource, make_source
from ser_edge.sources.base import Block

from ...mosquitto import wait_until
from ...wavgen import write_wav

RATE = 16000


def drain(source, limit: int = 100_000) -> tuple[np.ndarray, int, int]:
    """Read until the end: (all samples, dropped samples, empty reads)."""
    parts, dropped, empty = [], 0, 0
    for _ in range(limit):
        block = source.read()
        if block is None:
            break
        parts.append(block.samples)
        dropped += block.dropped
        empty += block.samples.size == 0
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), dropped, empty


def tone(seconds: float, rate: int, hz: float = 440.0, amp: float = 0.3) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def s16(x: np.ndarray) -> bytes:
    return np.clip(np.round(x * 32768), -32768, 32767).astype("<i2").tobytes()


# ----- files --------------------------------------------------------------------------------------
def test_wav_file_streams_in_blocks_exactly(tmp_path: Path) -> None:
    x = tone(2.05, RATE)
    path = write_wav(tmp_path / "t.wav", x)
    source = FileSource(path, RATE, block_ms=100)
    source.open()
    first = source.read()
    assert first is not None and first.samples.shape == (1600,) and first.samples.dtype == np.float32
    rest, dropped, _ = drain(source)
    got = np.concatenate([first.samples, rest])
    np.testing.assert_array_equal(got, read_wav(path)[0][:, 0])
    assert dropped == 0 and source.read() is None


def test_stereo_48k_wav_is_mixed_down_and_resampled(tmp_path: Path) -> None:
    left = tone(1.0, 48000, 300.0)
    path = write_wav(tmp_path / "s.wav", np.stack([left, left], axis=1), 48000)
    source = FileSource(path, RATE, block_ms=50)
    source.open()
    got, _, _ = drain(source)
    assert abs(got.size - RATE) <= 2  # the streaming resampler's flush gives back the whole second
    want = load_audio(path, RATE)
    assert np.max(np.abs(got[: want.size] - want[: got.size])) < 0.02


def test_flac_through_soundfile(data_dir: Path) -> None:
    pytest.importorskip("soundfile")
    path = data_dir / "ravdess/Actor_01/03-01-05-02-01-01-01.flac"
    source = FileSource(path, RATE)
    source.open()
    got, _, _ = drain(source)
    np.testing.assert_allclose(got, load_audio(path), atol=1e-6)


def test_realtime_pacing_follows_the_audio_clock(tmp_path: Path) -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    path = write_wav(tmp_path / "t.wav", tone(1.0, RATE))
    source = FileSource(path, RATE, block_ms=100, realtime=True, clock=lambda: now[0], sleep=sleep)
    source.open()
    drain(source)
    assert now[0] - 100.0 == pytest.approx(1.0, abs=1e-6)  # a second of audio takes a second
    assert max(slept) <= 0.1 + 1e-9  # short slices: signals are handled promptly


def test_unreadable_files_are_audio_errors_naming_them(tmp_path: Path) -> None:
    (tmp_path / "notes.wav").write_text("hello")
    for path, message in ((tmp_path / "missing.wav", "no such file"), (tmp_path / "notes.wav", "not a recognised audio file")):
        with pytest.raises(AudioError, match=message) as info:
            FileSource(path, RATE).open()
        assert str(path) in str(info.value)


# ----- stdin and pipes ------------------------------------------------------------------------------
def write_then_close(fd: int, data: bytes, chunk: int) -> threading.Thread:
    def run() -> None:
        with os.fdopen(fd, "wb", buffering=0) as f:
            for i in range(0, len(data), chunk):
                f.write(data[i: i + chunk])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_pipe_s16le_with_odd_chunks_reads_back_exactly() -> None:
    x = tone(1.5, RATE)
    r, w = os.pipe()
    thread = write_then_close(w, s16(x), chunk=1001)  # odd: samples split across reads
    source = StdinSource(RATE, rate=RATE, fd=r)
    source.open()
    got, _, _ = drain(source)
    thread.join()
    os.close(r)
    np.testing.assert_array_equal(got, np.frombuffer(s16(x), "<i2") / np.float32(32768))
    assert source.read() is None


def test_pipe_at_8k_is_resampled_to_the_model_rate() -> None:
    r, w = os.pipe()
    thread = write_then_close(w, s16(tone(2.0, 8000)), chunk=4096)
    source = StdinSource(RATE, rate=8000, fd=r)
    source.open()
    got, _, _ = drain(source)
    thread.join()
    os.close(r)
    assert abs(got.size - 2 * RATE) <= 2


def test_quiet_pipe_returns_empty_blocks_instead_of_blocking() -> None:
    r, w = os.pipe()
    source = StdinSource(RATE, fd=r, wait_s=0.01)
    source.open()
    assert source.read().samples.size == 0
    os.close(w)
    assert source.read() is None  # writer gone: end of stream, the listener ends normally
    os.close(r)


def test_fifo_with_reopen_survives_its_writer_restarting(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fifo = tmp_path / "audio.fifo"
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    source = ResilientSource(StdinSource(RATE, fd=r, eof="reopen", wait_s=0.05), min_s=0.5, max_s=2.0,
                             clock=lambda: now[0], sleep=sleep)
    source.open()
    got = []
    for writer in range(2):  # a writer sends 0.5 s and goes away, then another one comes
        w = os.open(fifo, os.O_WRONLY)
        os.write(w, s16(tone(0.5, RATE)))
        os.close(w)
        while sum(b.size for b in got) < (writer + 1) * RATE // 2:
            got.append(source.read().samples)
        for _ in range(3):  # the end of each writer is a fault being retried, never an end
            assert source.read() is not None
        assert source.recovering
    os.close(r)
    assert source.failures >= 2
    assert sum("reopening in" in r.getMessage() for r in caplog.records) == 2  # one line per outage


class Flaky:
    """A source whose device is missing for the first ``down`` opens (an unplugged microphone)."""

    name, sample_rate = "flaky", RATE

    def __init__(self, down: int) -> None:
        self.down, self.opens, self.closed = down, 0, 0

    def open(self) -> None:
        self.opens += 1
        if self.opens <= self.down:
            raise SourceError("flaky: device not found")

    def read(self) -> Block:
        return Block(np.ones(160, np.float32))

    def close(self) -> None:
        self.closed += 1


def test_resilient_source_backs_off_exponentially_and_recovers() -> None:
    now, attempts = [0.0], []
    flaky = Flaky(down=4)

    def sleep(s: float) -> None:
        now[0] += s

    source = ResilientSource(flaky, min_s=1.0, max_s=4.0, clock=lambda: now[0], sleep=sleep,
                             on_change=attempts.append)
    source.open()
    while source.recovering:
        assert source.read().samples.size == 0
    assert flaky.opens == 5 and now[0] == pytest.approx(1 + 2 + 4 + 4)  # capped at max_s
    assert source.read().samples.size == 160
    assert attempts == ["down: flaky: device not found", "up"]


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    with pytest.raises(AudioError):
        ResilientSource(FileSource(tmp_path / "nope.wav", RATE)).open()


def test_arrays_and_iterables() -> None:
    x = tone(1.0, 48000)
    a, _, _ = drain(_opened(ArraySource(x, RATE, rate=48000)))
    b, _, _ = drain(_opened(IterableSource(iter(np.array_split(x, 7)), RATE, rate=48000)))
    assert abs(a.size - RATE) <= 2 and np.allclose(a, b, atol=1e-4)
    scaled, _, _ = drain(_opened(IterableSource([np.full(10, 16384, np.int16)], RATE)))
    assert np.allclose(scaled, 0.5)  # int16 is scaled by 1/32768 (the API's one rule)
    with pytest.raises(AudioError, match="dtype int32"):
        _opened(IterableSource([np.zeros(10, np.int32)], RATE)).read()


def _opened(source):
    source.open()
    return source


def test_make_source_follows_the_audio_settings(tmp_path: Path) -> None:
    assert isinstance(make_source(AudioSettings(source="file", file="x.wav", realtime=True), RATE), FileSource)
    stdin = make_source(AudioSettings(source="stdin", stdin_rate=8000), RATE)
    assert isinstance(stdin, StdinSource) and stdin.rate == 8000
    mic = make_source(AudioSettings(device="USB", device_rate=48000), RATE)
    assert isinstance(mic, MicrophoneSource) and mic.device == "USB" and mic.device_rate == 48000


# ----- a real PortAudio device: ALSA's file plugin replays raw PCM as a capture device ----------------
ASOUNDRC = """
pcm.sermic {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{raw}"
    format "raw"
}}
"""

MIC_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from ser_edge.errors import SourceError
    from ser_edge.sources import MicrophoneSource
    out = {}
    mic = MicrophoneSource(16000, device="sermi", block_ms=100)
    mic.open()
    out["name"] = mic.name
    first = mic.read()
    out["first"] = (first.samples[:400] * 32768).round().astype(int).tolist()
    time.sleep(0.5)  # the plugin has no clock, so it runs ahead; our queue overflows
    out["dropped"] = sum(mic.read().dropped for _ in range(3))
    mic.close()
    mic44 = MicrophoneSource(16000, device="sermic", device_rate=44100, block_ms=100)
    mic44.open()
    out["resampled_name"] = mic44.name
    out["resampled_second"] = sum(mic44.read().samples.size for _ in range(10))  # 10 x 4410 frames in
    mic44.close()
    try:
        MicrophoneSource(16000, device="no such mic").open()
    except SourceError as exc:
        out["missing"] = str(exc)
    print(json.dumps(out))
""")


@pytest.fixture
def alsa_home(tmp_path: Path) -> dict:
    pytest.importorskip("pyaudio", reason="PyAudio not installed (apt-get install portaudio19-dev; pip install pyaudio)")
    raw = tmp_path / "tone.raw"
    raw.write_bytes(s16(tone(5.0, RATE)))
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(raw=raw))
    return {**os.environ, "HOME": str(tmp_path)}


def test_microphone_reads_a_real_portaudio_device(alsa_home: dict) -> None:
    done = subprocess.run([sys.executable, "-c", MIC_SCRIPT], env=alsa_home, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "sermic" in out["name"] and "16000 Hz" in out["name"]
    want = np.frombuffer(s16(tone(5.0, RATE)), "<i2")[:400]
    np.testing.assert_array_equal(out["first"], want)
    assert out["dropped"] > 0  # the pipeline "fell behind": dropped audio is counted, not hidden
    # a second at 44.1 kHz gives a second at 16 kHz, less what the resampling filter still holds
    assert "44100 Hz" in out["resampled_name"] and 15000 <= out["resampled_second"] <= 16000
    assert "no such mic" in out["missing"] and "sermic" in out["missing"]


def console_script(name: str) -> str | None:
    """The console script installed beside this interpreter (a venv's bin/, which `make test` does
    not put on PATH), else the one on PATH, else None."""
    beside = Path(sys.executable).parent / name  # not resolved: .venv/bin/python is a symlink
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def test_devices_command_lists_inputs(alsa_home: dict) -> None:
    exe = console_script("ser-edge")
    if exe is None:
        pytest.skip(f"the ser-edge console script is not installed beside {sys.executable} or on PATH "
                    "(pip install -e .)")
    done = subprocess.run([exe, "devices", "--json"], env=alsa_home, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    devices = [json.loads(line) for line in done.stdout.splitlines()]
    assert any(d["name"] == "sermic" and d["channels"] > 0 and d["default_rate"] > 0 for d in devices)
    assert "ALSA lib" not in done.stderr  # PortAudio's probing noise is kept off the log


def test_listen_on_the_microphone_counts_dropped_audio_and_stops_on_sigterm(alsa_home: dict) -> None:
    cmd = [sys.executable, "-c", "from ser_edge.cli import main; main()", "listen", "--mic", "sermic",
           "--status-interval", "1", "-q"]
    proc = subprocess.Popen(cmd, env=alsa_home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()

    def statuses() -> list[dict]:
        return [json.loads(line) for line in list(lines) if '"status"' in line]

    try:
        # the plugin delivers audio faster than real time, so our queue overflows: counted, reported
        seen = wait_until(lambda: any(st["audio_dropped_s"] > 0 for st in statuses()), 30.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    assert seen and proc.returncode == 0, err[-2000:]
    got = statuses()
    assert got[0]["audio_s"] == 1.0 and got[-1]["extra"]["source_faults"] == 0
    assert got[-1]["audio_dropped_s"] >= got[0]["audio_dropped_s"]

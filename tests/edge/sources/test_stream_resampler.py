"""The streaming resampler of sources (edge/sources/base.py): flushes, then lets go of its
soxr filter, so a listener that read a 48 kHz file exits without nanobind's leak report."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ser_edge.sources import FileSource, StreamResampler

from ...wavgen import write_wav

RATE = 16000


def _tone(seconds: float, rate: int) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 300.0 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def test_the_last_chunk_releases_the_filter_and_a_later_call_is_refused() -> None:
    resample = StreamResampler(48000, RATE)
    out = [resample(_tone(0.5, 48000)), resample(np.zeros(0, np.float32), last=True)]
    assert abs(sum(o.size for o in out) - RATE // 2) <= 2
    with pytest.raises(ValueError, match="48000 -> 16000 Hz used after its last chunk"):
        resample(_tone(0.1, 48000))


def test_matching_rates_pass_through_even_after_the_last_chunk() -> None:
    same = StreamResampler(RATE, RATE)
    x = _tone(0.1, RATE)
    same(x, last=True)
    np.testing.assert_array_equal(same(x), x)


def test_closing_a_file_source_before_its_end_releases_the_filter(tmp_path: Path) -> None:
    source = FileSource(write_wav(tmp_path / "a.wav", _tone(2.0, 48000), 48000), RATE, block_ms=100)
    source.open()
    assert source.read() is not None
    resampler = source._resample  # the source's own, to see that closing released its filter
    source.close()
    assert source.read() is None  # closed: nothing more, and no filter left alive
    with pytest.raises(ValueError, match="used after its last chunk"):
        resampler(_tone(0.1, 48000))


def test_listening_to_a_48k_file_exits_without_leak_warnings(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "t48.wav", _tone(3.0, 48000), 48000)
    done = subprocess.run([sys.executable, "-m", "ser_edge", "listen", "--from-wav", str(path), "-q",
                           "--adaptation", "off"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr and "nanobind" not in done.stderr, done.stderr


def test_a_listener_stopped_mid_file_exits_without_leak_warnings(tmp_path: Path) -> None:
    """SIGTERM while a 48 kHz file plays in real time: the source is closed before its end."""
    path = write_wav(tmp_path / "long48.wav", _tone(20.0, 48000), 48000)
    proc = subprocess.Popen([sys.executable, "-m", "ser_edge", "listen", "--from-wav", str(path), "--realtime",
                             "-q", "--adaptation", "off"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline()  # the first status line: it is listening
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "leaked" not in stderr and "nanobind" not in stderr, stderr

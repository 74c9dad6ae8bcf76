"""Opening audio once and without blocking: regular files, pipes (`StreamReader`), bounds on headers."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ser_edge.audio.opening import StreamReader, open_audio_file
from ser_edge.audio.read import iter_audio, load_audio, open_blocks
from ser_edge.audio.wavfile import MAX_BLOCK_BYTES, MAX_FMT_BYTES, parse_header, wav_blocks
from ser_edge.errors import AudioError, one_line, shown

from ...wavgen import wav_bytes, write_wav


def _pipe_with(data: bytes) -> int:
    """The read end of a pipe that a thread fills with ``data`` and then closes."""
    r, w = os.pipe()

    def fill() -> None:
        with os.fdopen(w, "wb") as f:
            f.write(data)

    threading.Thread(target=fill, daemon=True).start()
    return r


def test_a_pipe_gives_the_same_samples_as_the_file(tmp_path: Path) -> None:
    x = np.sin(np.arange(20000) / 7.0) * 0.5
    path = write_wav(tmp_path / "a.wav", x, extra_chunk=True)
    expected = load_audio(path)
    reader = StreamReader(_pipe_with(path.read_bytes()), "pipe")
    with reader:
        info = parse_header(reader, "pipe")
        got = np.concatenate([b[:, 0] for b in wav_blocks(reader, info, 3000)])
    assert np.array_equal(got, expected)


def test_an_unknown_length_on_a_pipe_means_to_its_end(tmp_path: Path) -> None:
    data = wav_bytes(np.full(1000, 0.25), data_size=0xFFFFFFFF)
    with StreamReader(_pipe_with(data), "pipe") as reader:
        info = parse_header(reader, "pipe")
        assert sum(b.shape[0] for b in wav_blocks(reader, info, 64)) == 1000


def test_a_silent_pipe_is_an_error_after_the_idle_time_not_a_hang() -> None:
    r, w = os.pipe()
    try:
        start = time.monotonic()
        with pytest.raises(AudioError, match=r"quiet: no data for 0.3 s"):
            StreamReader(os.dup(r), "quiet", idle_s=0.3).read(12)
        assert time.monotonic() - start < 5
    finally:
        os.close(r)
        os.close(w)


def test_a_fifo_without_a_writer_opens_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    f = open_audio_file(str(fifo))  # used to block in open() until a writer came
    try:
        assert isinstance(f, StreamReader)
    finally:
        f.close()


def test_folders_are_refused_and_regular_files_are_seekable(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="is a directory, not an audio file"):
        open_audio_file(str(tmp_path))
    path = write_wav(tmp_path / "a.wav", np.zeros(100))
    with open_audio_file(str(path)) as f:
        assert f.seekable()


def test_headers_are_bounded(tmp_path: Path) -> None:
    def header(channels: int, fmt_size: int = 16) -> bytes:
        fmt = struct.pack("<HHIIHH", 3, channels, 768000, 0, 0, 64) + b"\0" * (fmt_size - 16)
        return b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt " + struct.pack("<I", fmt_size) + fmt + b"data" + struct.pack("<I", 1 << 20)

    many = tmp_path / "many.wav"
    many.write_bytes(header(65535) + b"\0" * (1 << 20))
    with pytest.raises(AudioError, match=r"65535 channels is not supported; allowed: 1-64"):
        list(iter_audio(many))
    big_fmt = tmp_path / "fmt.wav"
    with open(big_fmt, "wb") as f:
        f.write(header(1, MAX_FMT_BYTES + 2)[:44])
        f.truncate(MAX_FMT_BYTES + 4096)
    with pytest.raises(AudioError, match=rf"fmt chunk claims {MAX_FMT_BYTES + 2} bytes \(at most {MAX_FMT_BYTES}\)"):
        list(iter_audio(big_fmt))
    wide = tmp_path / "wide.wav"
    wide.write_bytes(header(64) + b"\0" * (1 << 20))
    blocks, rate = open_blocks(wide, block_s=1.0)
    sizes = [b.shape for b in blocks]
    assert rate == 768000 and all(n * 64 * 8 <= MAX_BLOCK_BYTES and c == 64 for n, c in sizes)


def test_names_are_shown_on_one_line() -> None:
    assert shown("plain name é.wav") == "plain name é.wav"
    assert shown("a\nb.wav") == "'a\\nb.wav'"
    assert one_line("x\r\ny\x1b") == "x\\r\\ny\\x1b"
    assert str(AudioError("a\nb: bad")) == "a\\nb: bad"

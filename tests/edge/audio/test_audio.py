"""Audio input: every WAV encoding, resampling, the corpus quirks, and bad files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ser_edge.audio.read import load_audio, resample
from ser_edge.audio.wavfile import iter_wav_blocks, read_wav, read_wav_info
from ser_edge.errors import AudioError

from ...wavgen import wav_bytes, write_wav

TONE = 0.5 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)


@pytest.mark.parametrize(
    "bits, is_float, tol",
    [(8, False, 1 / 100), (16, False, 1 / 30000), (24, False, 1e-6), (32, False, 1e-7), (32, True, 1e-7), (64, True, 1e-7)],
)
@pytest.mark.parametrize("extensible", [False, True])
def test_reads_every_encoding(tmp_path, bits, is_float, tol, extensible):
    path = write_wav(tmp_path / "a.wav", TONE, bits=bits, is_float=is_float, extensible=extensible, extra_chunk=True)
    x, rate = read_wav(path)
    assert rate == 16000 and x.shape == (1600, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0], TONE, atol=tol)


def test_multichannel_is_averaged_to_mono(tmp_path):
    stereo = np.stack([TONE, np.zeros_like(TONE)], axis=1)
    out = load_audio(write_wav(tmp_path / "s.wav", stereo), 16000)
    assert out.shape == (1600,)
    np.testing.assert_allclose(out, TONE / 2, atol=1e-4)


def test_resampling_is_band_limited(tmp_path):
    # 1 kHz survives 48k -> 16k; 10 kHz (above the new Nyquist) must not alias into the band
    t = np.arange(48000) / 48000
    low = load_audio(write_wav(tmp_path / "l.wav", 0.5 * np.sin(2 * np.pi * 1000 * t), 48000), 16000)
    high = load_audio(write_wav(tmp_path / "h.wav", 0.5 * np.sin(2 * np.pi * 10000 * t), 48000), 16000)
    assert low.shape == (16000,)
    assert 0.34 < np.sqrt(np.mean(low[1000:-1000] ** 2)) < 0.36  # 0.5/sqrt(2)
    assert np.sqrt(np.mean(high[1000:-1000] ** 2)) < 1e-3  # alias rejected by > 50 dB
    assert resample(TONE.astype(np.float32), 16000, 16000).dtype == np.float32


def test_streamed_wav_with_unknown_length_is_read_to_the_end(tmp_path):
    # arecord writing to a pipe leaves 0x7fffffff / 0xffffffff as the data size
    path = tmp_path / "pipe.wav"
    path.write_bytes(wav_bytes(TONE, data_size=0xFFFFFFFF))
    assert read_wav(path)[0].shape == (1600, 1)


def test_blocks_stream_the_same_samples(tmp_path):
    path = write_wav(tmp_path / "b.wav", TONE)
    blocks = list(iter_wav_blocks(path, 333))
    assert [len(b) for b in blocks] == [333] * 4 + [1600 - 4 * 333]
    np.testing.assert_array_equal(np.concatenate(blocks), read_wav(path)[0])


def _bad(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.wav", b"", "empty file (0 bytes)"),
        ("noise.wav", bytes(range(256)) * 4, "not a recognised audio file"),
        ("text.wav", b"RIFF\x00\x00\x00\x00WAVEfmt ", "truncated WAV: no fmt  chunk"),
        ("nodata.wav", wav_bytes(TONE)[:36], "truncated WAV: no data chunk"),
        ("short.wav", wav_bytes(TONE)[:-1000], "truncated WAV: header promises 3200 bytes of audio, the file holds 2200"),
        ("zero.wav", wav_bytes(np.zeros(0)), "holds no audio samples"),
        ("nan.wav", wav_bytes(np.array([0.0, np.nan, 0.1]), bits=32, is_float=True), "NaN or infinite samples"),
        ("alaw.wav", wav_bytes(TONE).replace(b"\x01\x00\x01\x00", b"\x06\x00\x01\x00", 1), "WAV encoding 0x0006 is not supported"),
        ("12bit.wav", wav_bytes(TONE).replace(b"\x10\x00data", b"\x0c\x00data"), "12-bit PCM WAV is not supported"),
        ("song.mp3", b"ID3\x04\x00" + b"\x00" * 100, "MP3 is not supported"),
    ],
)
def test_bad_files_get_one_line_errors_naming_the_file(tmp_path, name, content, message):
    path = _bad(tmp_path, name, content)
    with pytest.raises(AudioError) as err:
        load_audio(path)
    text = str(err.value)
    assert text.startswith(str(path) + ": ") and message in text and "\n" not in text


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        load_audio(tmp_path)
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "missing.wav")


def test_unreadable_file(tmp_path):
    # root reads any file; as root, the read runs without the capabilities that allow it
    path = write_wav(tmp_path / "locked.wav", TONE)
    path.chmod(0o200)
    code = f"from ser_edge.audio.read import load_audio\nload_audio({str(path)!r})"
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("running as root: setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    proc = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True)
    assert "AudioError" in proc.stderr and f"{path}: cannot read it (permission denied)" in proc.stderr


def test_aiff_in_a_wav_name_is_named_by_the_wav_reader(tmp_path):
    path = _bad(tmp_path, "x.wav", b"FORM\x00\x00\x00\x10AIFFCOMM")
    with pytest.raises(AudioError, match="holds AIFF data, not WAV"):
        read_wav_info(path)


# ---- the real quirk files: each read correctly -------------------------------------------

RAVDESS_QUIRKS = [
    "03-01-02-01-01-02-01", "03-01-02-01-02-02-05", "03-01-03-01-02-01-20", "03-01-06-01-01-02-20", "03-01-08-01-02-02-01",
]


@pytest.mark.parametrize("stem", RAVDESS_QUIRKS)
def test_ravdess_48k_stereo_quirks_match_the_corpus_conversion(data_dir, stem):
    pytest.importorskip("soundfile")
    quirk = load_audio(data_dir / "quirks" / f"ravdess_{stem}.wav")
    actor = stem.split("-")[-1]
    reference = load_audio(data_dir / "ravdess" / f"Actor_{actor}" / f"{stem}.flac")
    n = min(len(quirk), len(reference))
    assert abs(len(quirk) - len(reference)) <= 2
    # same speech after our 48k-stereo -> 16k-mono path as after the corpus's own conversion
    assert np.corrcoef(quirk[:n], reference[:n])[0, 1] > 0.99


def test_tess_96k_quirk_is_resampled(data_dir):
    x = load_audio(data_dir / "quirks" / "tess_OAF_food_fear.wav")
    info = read_wav_info(data_dir / "quirks" / "tess_OAF_food_fear.wav")
    assert info.sample_rate == 96000
    assert abs(len(x) - info.frames / 6) <= 1 and np.abs(x).max() > 0.05


@pytest.mark.parametrize("name", ["tess_YAF_germ_angry.wav", "tess_YAF_neat_fear.wav"])
def test_aiff_quirks_are_read_through_soundfile(data_dir, name):
    pytest.importorskip("soundfile")
    x = load_audio(data_dir / "quirks" / name)
    assert x.dtype == np.float32 and 16000 < len(x) < 16000 * 4 and np.abs(x).max() > 0.05

"""Every bad input of docs/RELIABILITY.md through the real commands, as separate processes.

Each input gives a correct result or one error line naming the file; the batches
(`ser-edge classify`, `ser-train data --check-audio`, `ser-train eval`) go on with the rest,
list the failures at the end and exit 1; `ser-edge listen --from-wav` exits 0 or 65.
Batches run without CAP_DAC_OVERRIDE (as root too), so that the unreadable file is unreadable.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pytest

from ser_edge.audio.read import load_audio, resample
from ser_edge.events import EmotionEvent, SpeechStartEvent, StatusEvent, event_from_json

from ..conftest import data_root
from ..wavgen import wav_bytes
from .support import RATE, SER_EDGE, SER_TRAIN, child_rss, env, run, without_dac_override

CLIP = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"  # angry, strong
MODEL = Path(__file__).resolve().parents[2] / "models" / "default"


@dataclass(frozen=True)
class Case:
    """A bad input: how to make it, and what `classify` and `listen` say (None = a result)."""

    name: str
    make: Callable[[Path, np.ndarray], None]
    error: Optional[str] = None  # classify (and ser-train) error text
    listen_error: Optional[str] = "same"  # listen --from-wav error text ("same" as classify)
    same_label: bool = False  # must give the label of the clean 16-bit file
    in_corpus: bool = True  # can be a file in a corpus folder

    @property
    def listen_expect(self) -> Optional[str]:
        return self.error if self.listen_error == "same" else self.listen_error


def _wav(rate: int = RATE, transform: Callable[[np.ndarray], np.ndarray] = lambda x: x, **options):
    """A maker writing the clip, transformed and resampled to ``rate`` Hz, with `wav_bytes` options."""
    def make(path: Path, x: np.ndarray) -> None:
        y = transform(x)
        if rate != RATE:
            y = resample(y.astype(np.float32), RATE, rate)
        path.write_bytes(wav_bytes(y, rate, **options))
    return make


def _bytes(content: Callable[[np.ndarray], bytes]):
    return lambda path, x: path.write_bytes(content(x))


def _header_patch(offset: int, fmt: str, value: int):
    def content(x: np.ndarray) -> bytes:
        data = bytearray(wav_bytes(x))
        struct.pack_into(fmt, data, offset, value)
        return bytes(data)
    return _bytes(content)


def _with(value: float):
    def transform(x: np.ndarray) -> np.ndarray:
        y = x.astype(np.float64).copy()
        y[1000:1010] = value
        return y
    return transform


def _directory(path: Path, x: np.ndarray) -> None:
    path.mkdir()


def _unreadable(path: Path, x: np.ndarray) -> None:
    path.write_bytes(wav_bytes(x))
    path.chmod(0)


CASES = [
    Case("pcm16", _wav(), same_label=True),
    Case("pcm8", _wav(bits=8)),
    Case("pcm24", _wav(bits=24), same_label=True),
    Case("pcm32", _wav(bits=32), same_label=True),
    Case("float32", _wav(bits=32, is_float=True), same_label=True),
    Case("float64", _wav(bits=64, is_float=True), same_label=True),
    Case("extensible24", _wav(bits=24, extensible=True, extra_chunk=True), same_label=True),
    Case("streamed_unknown_length", _wav(data_size=0xFFFFFFFF), same_label=True),
    Case("stereo", _wav(transform=lambda x: np.stack([x, x], axis=1)), same_label=True),
    Case("rate8k", _wav(rate=8000)),
    Case("rate44k1", _wav(rate=44100), same_label=True),
    Case("rate96k", _wav(rate=96000), same_label=True),
    Case("dc_offset", _wav(transform=lambda x: 0.5 * x + 0.4)),
    Case("clipped", _wav(transform=lambda x: np.clip(20 * x, -1, 1))),
    Case("all_zeros", _wav(transform=lambda x: np.zeros_like(x))),
    Case("float_beyond_full_scale", _wav(bits=32, is_float=True, transform=lambda x: 1e6 * x)),
    Case("float_nan", _wav(bits=32, is_float=True, transform=_with(np.nan)), "float WAV holds NaN or infinite samples"),
    Case("float_inf", _wav(bits=64, is_float=True, transform=_with(np.inf)), "float WAV holds NaN or infinite samples"),
    Case("empty", _bytes(lambda x: b""), "empty file (0 bytes)"),
    Case("header_cut", _bytes(lambda x: wav_bytes(x)[:30]),
         "truncated WAV: fmt chunk claims 16 bytes, the file holds 10"),
    Case("data_cut", _bytes(lambda x: wav_bytes(x)[:-5000]), "truncated WAV: header promises"),
    Case("fmt_size_4gb", _header_patch(16, "<I", 0xFFFFFFF0), "truncated WAV: fmt chunk claims 4294967280 bytes"),
    Case("rate_1hz", _header_patch(24, "<I", 1), "sample rate 1 Hz is not supported"),
    Case("channels_0", _header_patch(22, "<H", 0), "malformed WAV: 0 channels"),
    Case("alaw", _header_patch(20, "<H", 6), "WAV encoding 0x0006 is not supported"),
    Case("too_short", _wav(transform=lambda x: x[:100]), "6 ms of audio is too short", listen_error=None),
    Case("random_bytes", _bytes(lambda x: np.random.default_rng(7).bytes(5000)), "not a recognised audio file"),
    Case("mp3", _bytes(lambda x: b"ID3\x04\x00" + bytes(200)), "MP3 is not supported"),
    Case("directory", _directory, "is a directory, not an audio file", in_corpus=False),
    Case("unreadable", _unreadable, "cannot read it (permission denied)"),
    Case("missing", lambda path, x: None, "no such file", in_corpus=False),
]
#: the quirk files of the corpora folder ($SER_EDGE_DATA, else ../shared/data beside the checkout)
QUIRKS = sorted(p.name for p in (data_root() / "quirks").glob("*"))


def corpus_names():
    """RAVDESS paths (Actor_NN/name) for actors 02 and 03, each a distinct recording of a 7-class emotion."""
    for actor in (2, 3):
        for emotion in (3, 4, 5, 6, 7, 8):
            for statement in (1, 2):
                for repetition in (1, 2):
                    yield f"Actor_{actor:02d}/03-01-{emotion:02d}-01-{statement:02d}-{repetition:02d}-{actor:02d}.wav"


@pytest.fixture(scope="module")
def inputs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every case as a file named for its case, and the same files again as a RAVDESS folder."""
    clip = load_audio(data_dir / CLIP)
    root = tmp_path_factory.mktemp("bad")
    files, corpus = {}, root / "corpus" / "ravdess"
    names = corpus_names()
    for case in CASES:
        files[case.name] = root / f"{case.name}.wav"
        case.make(files[case.name], clip)
        if case.in_corpus:
            target = corpus / next(names)
            target.parent.mkdir(parents=True, exist_ok=True)
            case.make(target, clip)
            files[case.name + ":corpus"] = target
    return {"files": files, "corpus": root / "corpus", "quirks": data_dir / "quirks"}


def test_quirk_files_are_all_there(data_dir: Path) -> None:
    assert len(QUIRKS) == 8 and sorted(p.name for p in (data_dir / "quirks").iterdir()) == QUIRKS


#: click refuses the whole `classify` command line (usage error, exit 2) when one FILE exists but
#: is unreadable, before ser-edge sees it; see test_classify_reports_an_unreadable_file_and_goes_on
IN_CLASSIFY_BATCH = [c for c in CASES if c.name != "unreadable"]


@pytest.fixture(scope="module")
def classified(inputs: dict) -> tuple:
    """`ser-edge classify --json` over every case and every quirk file, in one batch."""
    paths = [str(inputs["files"][c.name]) for c in IN_CLASSIFY_BATCH] + [str(inputs["quirks"] / q) for q in QUIRKS]
    done = run(without_dac_override() + SER_EDGE + ["classify", "--json", "-m", str(MODEL), *paths], timeout=300)
    rows = {row["file"]: row for row in map(json.loads, done.stdout.splitlines())}
    return done, rows


@pytest.mark.parametrize("case", IN_CLASSIFY_BATCH, ids=lambda c: c.name)
def test_classify_gives_a_result_or_an_error_naming_the_file(case: Case, inputs: dict, classified: tuple) -> None:
    done, rows = classified
    path = str(inputs["files"][case.name])
    row = rows[path]  # every file gets a line, in the batch
    if case.error is None:
        assert "error" not in row and row["label"] in row["scores"], row
        if case.same_label:
            assert row["label"] == rows[str(inputs["files"]["pcm16"])]["label"]
    else:
        assert row["error"].startswith(f"{path}: ") and case.error in row["error"] and "\n" not in row["error"]
        assert f"  {path}: {case.error}" in done.stderr.split("failed:\n")[1]  # listed at the end


def test_classify_batch_goes_on_lists_failures_and_exits_1(inputs: dict, classified: tuple) -> None:
    done, rows = classified
    failed = [c for c in IN_CLASSIFY_BATCH if c.error]
    assert done.returncode == 1
    assert f"{len(failed)} of {len(IN_CLASSIFY_BATCH) + len(QUIRKS)} file(s) failed:" in done.stderr
    assert "Traceback" not in done.stderr
    for quirk in QUIRKS:
        assert "label" in rows[str(inputs["quirks"] / quirk)]


def test_classify_reports_an_unreadable_file_and_goes_on(inputs: dict) -> None:
    good, locked = str(inputs["files"]["pcm16"]), str(inputs["files"]["unreadable"])
    done = run(without_dac_override() + SER_EDGE + ["classify", "--json", "-m", str(MODEL), locked, good])
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1 and "label" in rows[1], done.stderr
    assert rows[0]["error"] == f"{locked}: cannot read it (permission denied)"


def test_ravdess_quirks_classify_as_their_corpus_conversion(data_dir: Path, classified: tuple) -> None:
    _, rows = classified
    stems = [q[len("ravdess_"):-len(".wav")] for q in QUIRKS if q.startswith("ravdess_")]
    reference = run(SER_EDGE + ["classify", "--json", "-m", str(MODEL)]
                    + [str(data_dir / "ravdess" / f"Actor_{s[-2:]}" / f"{s}.flac") for s in stems])
    labels = [json.loads(line)["label"] for line in reference.stdout.splitlines()]
    assert [rows[str(data_dir / "quirks" / f"ravdess_{s}.wav")]["label"] for s in stems] == labels


def _listen(path: str) -> tuple:
    done = run(without_dac_override() + SER_EDGE + ["listen", "-q", "--from-wav", path, "--model", str(MODEL)],
               timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def listened(inputs: dict) -> dict:
    """`ser-edge listen --from-wav` on each case and quirk file (two at a time)."""
    paths = [str(inputs["files"][c.name]) for c in CASES] + [str(inputs["quirks"] / q) for q in QUIRKS]
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(paths, pool.map(_listen, paths)))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_listen_from_wav_streams_it_or_exits_65_with_one_line(case: Case, inputs: dict, listened: dict) -> None:
    path = str(inputs["files"][case.name])
    code, stdout, stderr = listened[path]
    events = [event_from_json(line) for line in stdout.splitlines()]  # every stdout line is an event
    if case.listen_expect is None:
        assert code == 0, stderr
        assert isinstance(events[-1], StatusEvent)
        if case.name == "all_zeros":
            assert not any(isinstance(e, EmotionEvent) for e in events)  # silence is never classified
    else:
        errors = [line for line in stderr.splitlines() if "error:" in line]
        assert code == 65 and errors == [errors[0]] and f"error: {path}: {case.listen_expect}" in errors[0], stderr
        assert "Traceback" not in stderr


@pytest.mark.parametrize("quirk", QUIRKS)
def test_listen_from_wav_streams_every_quirk_file(quirk: str, inputs: dict, listened: dict) -> None:
    code, stdout, stderr = listened[str(inputs["quirks"] / quirk)]
    events = [event_from_json(line) for line in stdout.splitlines()]
    assert code == 0 and isinstance(events[-1], StatusEvent) and events[-1].audio_s > 1.0, stderr


def test_train_data_check_audio_lists_every_unreadable_file_and_exits_1(inputs: dict) -> None:
    done = run(without_dac_override() + SER_TRAIN + ["data", "--check-audio", str(inputs["corpus"])])
    assert done.returncode == 1 and "Traceback" not in done.stderr
    listed = done.stdout.split("unreadable files (")[1].splitlines()[1:]
    decode_errors = [c for c in CASES if c.in_corpus and c.error and c.name != "too_short"]  # short: decodes
    assert len(listed) == len(decode_errors)
    for case in decode_errors:
        path = inputs["files"][case.name + ":corpus"]
        assert any(line.strip().startswith(f"{path}: ") and case.error in line for line in listed), case.name


def test_train_eval_skips_and_lists_bad_files_and_exits_1(inputs: dict) -> None:
    done = run(without_dac_override() + SER_TRAIN + ["eval", "--json", "-q", str(MODEL), str(inputs["corpus"])],
               timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    skipped = {s["path"]: s["reason"] for s in result["skipped"]}
    bad = [c for c in CASES if c.in_corpus and c.error]
    assert result["n"] == sum(1 for c in CASES if c.in_corpus and not c.error)
    assert len(skipped) == len(bad)
    for case in bad:
        path = str(inputs["files"][case.name + ":corpus"])
        assert case.error in skipped[path] and path not in skipped[path], case.name  # the path is named once, in "path"


def test_train_eval_reads_every_quirk_file(inputs: dict) -> None:
    done = run(SER_TRAIN + ["eval", "--json", "-q", str(MODEL), str(inputs["quirks"])], timeout=300)
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["n"] == len(QUIRKS) and result["skipped"] == [], done.stderr


def _peak_rss_kb(args: list[str]) -> tuple[int, int, str]:
    """(exit status, peak RSS in kB, stdout) of a child (`support.child_rss`: a child forked straight
    from a large pytest would report the pytest's RSS)."""
    code, rss, out, _ = child_rss(args)
    return code, rss, out


def _pcm16_header(data_bytes: int) -> bytes:
    """A 44-byte header of a mono 16-bit WAV at RATE with ``data_bytes`` of samples."""
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, 2 * RATE, 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", data_bytes))


def test_one_hour_file_streams_with_bounded_memory(data_dir: Path, tmp_path: Path) -> None:
    """An hour of 16-bit audio (115 MB; 230 MB as float32) in blocks: memory as for a short file."""
    clip = (np.clip(load_audio(data_dir / CLIP), -1, 1) * 32767).astype("<i2").tobytes()
    hour, short = tmp_path / "hour.wav", tmp_path / "short.wav"
    size = 3600 * RATE * 2
    with open(hour, "wb") as f:  # sparse: silence, with the clip every ten minutes
        f.write(_pcm16_header(size))
        f.truncate(44 + size)
        for minute in range(0, 60, 10):
            f.seek(44 + minute * 60 * RATE * 2)
            f.write(clip)
    short.write_bytes(_pcm16_header(len(clip)) + clip)
    args = ["listen", "-q", "--model", str(MODEL), "--status-interval", "600", "--from-wav"]
    code_short, rss_short, _ = _peak_rss_kb(args + [str(short)])
    code, rss, out = _peak_rss_kb(args + [str(hour)])
    events = [event_from_json(line) for line in out.splitlines()]
    assert code == code_short == 0
    assert [e.audio_s for e in events if isinstance(e, StatusEvent)] == [600.0 * k for k in range(1, 7)]
    assert sum(isinstance(e, SpeechStartEvent) for e in events) >= 6  # the clip, heard every ten minutes
    assert any(isinstance(e, EmotionEvent) for e in events)  # and decided (above the tuned thresholds at least once)
    assert rss < rss_short + 30_000, f"peak RSS {rss} kB for an hour vs {rss_short} kB for {len(clip) / 32000:.1f} s"


def test_a_wav_cut_while_listen_reads_it_is_said_and_exits_65(tmp_path: Path) -> None:
    """Issue 24 item 19: as a file truncated beforehand (exit 65, one line), not a quiet exit 0."""
    path = tmp_path / "long.wav"
    path.write_bytes(_pcm16_header(20 * RATE * 2) + (np.random.default_rng(0).standard_normal(20 * RATE) * 1000)
                     .astype("<i2").tobytes())
    proc = subprocess.Popen(SER_EDGE + ["listen", "--from-wav", str(path), "--realtime", "--adaptation", "off",
                                        "--status-interval", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        time.sleep(3.0)  # a second or two of it read
        os.truncate(path, 44 + 2 * RATE * 2)  # to 2 s: behind the reader
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 65, err
    # "the file ended after N" once the reader was past the cut; "the file holds N" when a loaded
    # machine had not yet read that far: either way said, and exit 65
    assert f"{path}: truncated WAV: header promises {20 * RATE * 2} bytes of audio, the file " in err
    assert "Traceback" not in err
    assert json.loads(out.splitlines()[-1])["type"] == "status"  # the final status event went out

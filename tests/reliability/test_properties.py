"""Property-based tests: whatever the input, only the project's own errors (SerEdgeError) escape,
each naming what it is about, and what comes out is finite.

Bounded (100-200 examples each, no deadline) so that the suite stays fast.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import math
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ser_edge.audio.read import load_audio
from ser_edge.config.load import SPECS, load_settings, toml_value
from ser_edge.config.settings import Settings
from ser_edge.errors import SerEdgeError
from ser_edge.events import EventFactory
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams
from ser_edge.listen.pipeline import Pipeline
from ser_edge.model.bundle import MANIFEST_FILE, load_bundle, manifest_digest
from ser_edge.service.checks import check_settings
from ser_edge.sources import FileSource

from ..wavgen import wav_bytes

MODEL = Path(__file__).resolve().parents[2] / "models" / "default"
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RATE = 16000


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every example (hypothesis runs many examples per test function)."""
    return tmp_path_factory.mktemp("props")


# ----- the WAV reader --------------------------------------------------------------------------
def read_everything(path: Path, *, streamed: bool = True) -> None:
    """load_audio and the streaming FileSource on ``path``: results are finite, errors ours."""
    for read in (_whole, _streamed) if streamed else (_whole,):
        try:
            out = read(path)
        except SerEdgeError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc), exc
        else:
            assert out.dtype == np.float32 and out.ndim == 1 and np.all(np.isfinite(out))


def _whole(path: Path) -> np.ndarray:
    return load_audio(path)


def _streamed(path: Path) -> np.ndarray:
    source = FileSource(path, RATE, block_ms=50)
    source.open()
    try:
        blocks = []
        while (block := source.read()) is not None:
            blocks.append(block.samples)
        return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    finally:
        source.close()


@BOUNDED
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(scratch: Path, data: bytes) -> None:
    path = scratch / "arbitrary.wav"
    path.write_bytes(data)
    read_everything(path)


@BOUNDED
@given(st.sampled_from([b"RIFF", b"RIFX", b"FORM", b"fLaC", b"OggS", b"ID3\x04"]), st.binary(max_size=2000))
def test_arbitrary_bytes_behind_a_known_magic(scratch: Path, magic: bytes, rest: bytes) -> None:
    path = scratch / "magic.wav"
    path.write_bytes(magic + rest[:4] + (b"WAVE" if magic == b"RIFF" else b"AIFF") + rest[4:])
    read_everything(path)


def valid_wav(draw) -> bytearray:
    """A small valid WAV of any supported encoding."""
    bits, is_float = draw(st.sampled_from([(8, False), (16, False), (24, False), (32, False), (32, True), (64, True)]))
    channels = draw(st.integers(1, 3))
    rate = draw(st.sampled_from([8000, 16000, 22050, 48000]))
    n = draw(st.integers(1, 600))
    x = np.sin(np.arange(n * channels) * 0.37).reshape(n, channels) * 0.8
    return bytearray(wav_bytes(x, rate, bits=bits, is_float=is_float, extensible=draw(st.booleans()),
                               extra_chunk=draw(st.booleans())))


HEADER_FIELDS = [(4, "<I"), (16, "<I"), (20, "<H"), (22, "<H"), (24, "<I"), (28, "<I"), (32, "<H"), (34, "<H"),
                 (40, "<I")]


@BOUNDED
@given(st.data())
def test_mutated_valid_wavs(scratch: Path, data: st.DataObject) -> None:
    wav = valid_wav(data.draw)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["field", "byte", "truncate", "insert"]))
        if kind == "field":  # a header field (sizes, format tag, channels, rate, bits) set to anything
            offset, fmt = data.draw(st.sampled_from(HEADER_FIELDS))
            top = 0xFFFF if fmt == "<H" else 0xFFFFFFFF
            value = data.draw(st.one_of(st.integers(0, top), st.sampled_from([0, 1, 2, top, top - 1, top // 2])))
            if offset + struct.calcsize(fmt) <= len(wav):
                struct.pack_into(fmt, wav, offset, value)
        elif kind == "byte" and wav:
            wav[data.draw(st.integers(0, len(wav) - 1))] = data.draw(st.integers(0, 255))
        elif kind == "truncate":
            del wav[data.draw(st.integers(0, len(wav))):]
        else:
            at = data.draw(st.integers(0, len(wav)))
            wav[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    path = scratch / "mutated.wav"
    path.write_bytes(bytes(wav))
    read_everything(path)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_aiff_and_flac_through_soundfile(scratch: Path, data: st.DataObject) -> None:
    soundfile = pytest.importorskip("soundfile")
    fmt = data.draw(st.sampled_from(["AIFF", "FLAC"]))
    buffer = io.BytesIO()
    soundfile.write(buffer, np.sin(np.arange(800) * 0.2) * 0.5, 16000, format=fmt)
    raw = bytearray(buffer.getvalue())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, min(len(raw) - 1, 200)))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(12, len(raw))):]
    path = scratch / f"mutated.{fmt.lower()}"
    path.write_bytes(bytes(raw))
    read_everything(path, streamed=False)  # streamed: see the next test


def test_a_flac_corrupt_mid_stream_is_an_audio_error_when_streamed(tmp_path: Path) -> None:
    soundfile = pytest.importorskip("soundfile")
    buffer = io.BytesIO()
    soundfile.write(buffer, np.sin(np.arange(16000) * 0.2) * 0.5, 16000, format="FLAC")
    raw = bytearray(buffer.getvalue())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)  # frames lose sync: found only when reading them
    path = tmp_path / "corrupt.flac"
    path.write_bytes(bytes(raw))
    with pytest.raises(SerEdgeError, match=str(path)):
        _streamed(path)


# ----- the streaming front end -----------------------------------------------------------------
SEGMENTS = st.tuples(st.sampled_from(["zeros", "full_scale_square", "alternating", "sine", "noise", "denormal",
                                      "spikes", "dc", "speech", "speech"]),
                     st.integers(1, 30000), st.floats(0.0, 1.0))


@functools.lru_cache(maxsize=1)
def speech() -> np.ndarray:
    """A real angry utterance (4.1 s), so that windows get classified."""
    from ..conftest import data_root

    path = data_root() / "ravdess" / "Actor_01" / "03-01-05-02-01-01-01.flac"
    if not path.is_file():
        pytest.skip(f"corpora not found at {data_root()}")
    return load_audio(path)


def signal(segments: list) -> np.ndarray:
    """Audio in [-1, 1] built from (kind, samples, amplitude) segments, extremes and speech included."""
    rng = np.random.default_rng(len(segments))
    parts = []
    for kind, n, amplitude in segments:
        t = np.arange(n)
        part = {
            "speech": lambda: np.resize(speech(), n) * max(amplitude, 0.05) / max(1e-9, float(np.abs(speech()).max())),
            "zeros": lambda: np.zeros(n),
            "full_scale_square": lambda: np.where((t // 40) % 2, 1.0, -1.0),
            "alternating": lambda: np.where(t % 2, 1.0, -1.0),
            "sine": lambda: amplitude * np.sin(2 * np.pi * 220 * t / RATE),
            "noise": lambda: np.clip(amplitude * rng.standard_normal(n), -1, 1),
            "denormal": lambda: np.full(n, 1e-40),
            "spikes": lambda: np.where(t % 997 == 0, 1.0, 0.0),
            "dc": lambda: np.full(n, amplitude),
        }[kind]()
        parts.append(part)
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture(scope="module")
def classifier():
    from ser_edge.model.load import load_classifier

    return load_classifier(str(MODEL))


classified: list = []  # windows classified per example: the model must be reached


def run_pipeline(classifier, x: np.ndarray, blocks: list) -> list:
    events = EventFactory(model_id="m", model_sha256="0" * 64, device="d", clock=lambda: 1.7e9)
    pipeline = Pipeline(classifier, events=events, status_interval_s=0.5, clock=lambda: 0.0)
    out, at = [], 0
    for size in blocks:
        out += pipeline.push(x[at: at + size])
        at += size
    out += pipeline.push(x[at:])
    return [e.to_dict() for e in out + pipeline.finish()]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SEGMENTS, max_size=5), st.integers(0, 5), st.integers(26000, 40000),
       st.lists(st.integers(0, 6000), max_size=20))
def test_streaming_front_end_any_split_any_values(classifier, segments: list, at: int, speech_n: int,
                                                  blocks: list) -> None:
    segments.insert(min(at, len(segments)), ("speech", speech_n, 1.0))  # at least one utterance
    x = signal(segments)
    params = FeatureParams()
    stream = MfccExtractor(params).stream()
    frames, at = [], 0
    for size in blocks + [len(x)]:
        frames.append(stream.push(x[at: at + size]))
        at += size
    streamed = np.concatenate(frames)
    assert np.all(np.isfinite(streamed))
    np.testing.assert_array_equal(streamed, MfccExtractor(params).stream().push(x))
    events = run_pipeline(classifier, x, blocks)
    assert events == run_pipeline(classifier, x, [])  # the same events for any block sizes
    classified.append(events[-1]["windows_classified"])
    json.dumps(events, allow_nan=False)  # every number finite


def test_the_streaming_examples_reached_the_model() -> None:
    if classified:  # when run with the property test above
        assert sum(1 for n in classified if n > 0) >= len(classified) // 4


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=4000), st.lists(st.integers(1, 700), max_size=12))
def test_stdin_bytes_any_split_give_finite_samples(data: bytes, splits: list) -> None:
    import os

    from ser_edge.sources import StdinSource

    read_fd, write_fd = os.pipe()
    try:
        source = StdinSource(RATE, rate=44100, fd=read_fd, wait_s=0.01)
        source.open()
        out, at = [], 0
        for size in splits + [len(data)]:
            os.write(write_fd, data[at: at + size] or b"")
            at += size
            out.append(source.read().samples)  # type: ignore[union-attr]
        os.close(write_fd)
        write_fd = -1
        while (block := source.read()) is not None:
            out.append(block.samples)
        x = np.concatenate(out)
        assert x.dtype == np.float32 and np.all(np.isfinite(x)) and np.all(np.abs(x) <= 1.5)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)


# ----- the manifest loader ---------------------------------------------------------------------
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12) | st.sampled_from([0, 1, -1, 16000, "int8", "float32", "model.tflite", "../x", "/etc"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def paths_of(value, prefix=()):
    """Every key path into nested dicts and lists."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


@pytest.fixture(scope="module")
def good_manifest() -> dict:
    return json.loads((MODEL / MANIFEST_FILE).read_text())


@BOUNDED
@given(st.data())
def test_manifests_anything_loads_or_is_a_bundle_error(scratch: Path, good_manifest: dict, data) -> None:
    manifest = copy.deepcopy(good_manifest)
    all_paths = [p for p in paths_of(manifest) if p]
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(all_paths))
        parent = manifest
        try:
            for part in path[:-1]:
                parent = parent[part]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(JSONISH)
        except (KeyError, IndexError, TypeError):
            continue
    if data.draw(st.booleans()) and isinstance(manifest.get("feature_params"), dict):
        try:  # a consistent hash gets the mutation past the hash check, deeper into the loader
            manifest["feature_params_hash"] = FeatureParams.from_dict(manifest["feature_params"]).stable_hash()
        except Exception:
            pass
        try:  # and so does a consistent manifest_sha256
            manifest["manifest_sha256"] = manifest_digest(manifest)
        except ValueError:
            pass
    bundle = Path(tempfile.mkdtemp(dir=scratch))
    shutil.copy(MODEL / "model.tflite", bundle / "model.tflite")
    text = json.dumps(manifest)
    if data.draw(st.integers(0, 9)) == 0:
        text = text[: data.draw(st.integers(0, 50))]  # not JSON any more
    (bundle / MANIFEST_FILE).write_text(text)
    try:
        from ser_edge.model.load import load_classifier

        load_bundle(bundle)
        load_classifier(str(bundle))
    except SerEdgeError as exc:
        assert str(bundle) in str(exc) and "\n" not in str(exc), exc
    finally:
        shutil.rmtree(bundle)


# ----- the config loader -----------------------------------------------------------------------
NAMES = sorted({part for key in SPECS for part in key})
TOML_SCALARS = (st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1) | st.floats(allow_nan=True)
                | st.text(max_size=10) | st.sampled_from(["file", "stdin", "emotion", "always", "", "127.0.0.1"]))
TOML_VALUES = st.recursive(TOML_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)


def toml_document(table: dict) -> str:
    """A TOML file holding ``table`` (inline tables for the nesting; keys quoted)."""
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in table.items())


@st.composite
def config_tables(draw) -> dict:
    """Mostly real sections and keys, with values of any TOML type; now and then a stranger."""
    table: dict = {}
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(sorted(SPECS)))
        value = draw(TOML_VALUES if draw(st.integers(0, 3)) == 0 else _plausible(SPECS[key]))
        node = table
        for part in key[:-1]:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[key[-1]] = value
    if draw(st.integers(0, 4)) == 0:
        table[draw(st.sampled_from(NAMES) | st.text(max_size=6))] = draw(TOML_VALUES)
    return table


def _plausible(spec) -> st.SearchStrategy:
    """Values near what a key accepts, bounds and one step beyond included."""
    if spec.kind in ("number", "int"):
        low = spec.low if spec.low is not None else -1e9
        high = spec.high if spec.high is not None else 1e9
        edges = st.sampled_from([low, high, low - 1, high + 1, 0])
        if spec.kind == "int":
            return st.integers(int(low) - 1, int(high) + 1) | edges.map(int)
        return st.floats(low - 1, high + 1, allow_nan=False) | edges
    if spec.kind == "choice":
        return st.sampled_from(list(spec.choices) + ["nope"])
    if spec.kind == "str_list":
        return st.lists(st.sampled_from(["emotion", "status", "mood", "x"]), max_size=3)
    if spec.kind in ("str_map", "number_map"):
        return st.dictionaries(st.sampled_from(["angry", "neutral", "Authorization"]),
                               st.floats(-1, 2) | st.text(max_size=4), max_size=2)
    return TOML_SCALARS


@BOUNDED
@given(config_tables())
def test_config_files_load_or_are_a_config_error(scratch: Path, table: dict) -> None:
    path = scratch / "config.toml"
    try:
        text = toml_document(table)
    except TypeError:
        assume(False)
    path.write_text(text, encoding="utf-8")
    try:
        settings_ = load_settings(path)
    except SerEdgeError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc), exc
    else:
        assert isinstance(settings_, Settings)


@BOUNDED
@given(st.dictionaries(st.sampled_from(sorted(SPECS)), TOML_VALUES | st.integers(-(10 ** 400), 10 ** 400),
                       max_size=4))
def test_command_line_overrides_load_or_are_a_config_error(overrides: dict) -> None:
    try:
        settings_ = load_settings(None, overrides)
    except SerEdgeError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(settings_, Settings)
        if not math.isfinite(settings_.status_interval_s):
            pytest.fail("a non-finite number passed the checks")


def _in_range(spec) -> st.SearchStrategy:
    if spec.kind == "int":
        return st.integers(int(spec.low), int(spec.high))
    return st.floats(spec.low, spec.high, allow_nan=False)


CHECKED = sorted(k for k, spec in SPECS.items() if k[0] in ("gate", "smoothing") and spec.kind in ("number", "int"))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(CHECKED), st.none(), max_size=6).flatmap(
    lambda keys: st.fixed_dictionaries({k: _in_range(SPECS[k]) for k in keys})),
    st.dictionaries(st.sampled_from(["angry", "neutral", "sad", "calm", "x"]), st.floats(0, 1), max_size=3))
def test_config_check_of_valid_keys_raises_only_our_errors(values: dict, thresholds: dict) -> None:
    """Keys each within their range may still not fit together or the model: `config check` says so."""
    overrides = {**values, ("smoothing", "thresholds"): thresholds, ("model", "path"): str(MODEL)}
    try:
        s = load_settings(None, overrides)
        check_settings(s)
    except SerEdgeError as exc:
        assert "\n" not in str(exc)

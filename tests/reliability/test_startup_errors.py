"""A corrupt, mismatched or missing model and a bad configuration stop `ser-edge listen` with one
clear line and exit status 78, which the systemd unit lists in RestartPreventExitStatus."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from ser_edge.frontend.params import FeatureParams
from ser_edge.model.bundle import manifest_digest

from ..wavgen import write_wav
from .support import SER_EDGE, run

MODEL = Path(__file__).resolve().parents[2] / "models" / "default"
UNIT = Path(__file__).resolve().parents[2] / "systemd" / "ser-edge.service"


def _bundle(tmp: Path, name: str, change_model: Callable[[bytes], bytes] = lambda b: b,
            change_manifest: Callable[[dict], None] = lambda m: None, *, fix_sha: bool = True) -> Path:
    folder = tmp / name
    shutil.copytree(MODEL, folder)
    model = change_model((folder / "model.tflite").read_bytes())
    (folder / "model.tflite").write_bytes(model)
    manifest = json.loads((folder / "manifest.json").read_text())
    change_manifest(manifest)
    if fix_sha:
        manifest["model"]["sha256"] = hashlib.sha256(model).hexdigest()
        manifest["manifest_sha256"] = manifest_digest(manifest)  # consistent: the deeper checks must hold
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _flip(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


def _one_label_fewer(manifest: dict) -> None:
    gone = manifest["labels"].pop()  # with its placement and tuned threshold: a consistent manifest
    manifest.get("circumplex", {}).pop(gone, None)
    manifest.get("thresholds", {}).pop(gone, None)
    head = manifest.get("utterance")
    if head:  # its utterance head's row of that label too
        head["weight"].pop()
        head["bias"].pop()


def _fewer_mfcc(manifest: dict) -> None:
    manifest["feature_params"]["n_mfcc"] = 20  # with its hash: a consistent manifest for another model
    manifest["feature_params_hash"] = FeatureParams.from_dict(manifest["feature_params"]).stable_hash()
    statistics = (manifest.get("normalisation") or {}).get("statistics")
    if statistics:  # a speaker-normalised bundle's prior, per coefficient
        statistics.update(mean=statistics["mean"][:20], var=statistics["var"][:20])
    manifest.pop("utterance", None)  # its utterance head reads 30 MFCC's statistics: another model has its own


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list:
    tmp = tmp_path_factory.mktemp("startup")
    wav = write_wav(tmp / "short.wav", np.zeros(16000))
    bad_json = _bundle(tmp, "bad-json")
    (bad_json / "manifest.json").write_text('{"schema_version": 1, "model": ')
    no_model = _bundle(tmp, "no-model")
    (no_model / "model.tflite").unlink()
    open_secret = tmp / "mqtt-password"
    open_secret.write_text("s3cret\n")
    open_secret.chmod(0o644)
    blocker = tmp / "not-a-folder"
    blocker.write_text("")

    def config(name: str, text: str) -> list[str]:
        path = tmp / f"{name}.toml"
        path.write_text(text)
        return ["--config", str(path)]

    model = lambda path: ["--model", str(path)]  # noqa: E731
    return [
        ("corrupt model", model(_bundle(tmp, "flipped", _flip, fix_sha=False)),
         "model.tflite does not match the manifest's sha256 (corrupt or replaced model)"),
        ("not a model", model(_bundle(tmp, "garbage", lambda b: b"\x00" * 64)), "is not a TFLite model"),
        ("truncated model", model(_bundle(tmp, "truncated", lambda b: b[:40000])), "the interpreter cannot load"),
        ("labels do not fit", model(_bundle(tmp, "labels", change_manifest=_one_label_fewer)),
         "model output shape [1, 7] does not match"),
        ("parameters do not fit", model(_bundle(tmp, "params", change_manifest=_fewer_mfcc)),
         "model input shape [1, 148, 30] does not match"),
        ("model file outside the bundle",
         model(_bundle(tmp, "escape", change_manifest=lambda m: m["model"].update(file="../x/model.tflite"))),
         "must be a file name inside the bundle"),
        ("manifest not JSON", model(bad_json), "not a readable JSON manifest"),
        ("model file missing", model(no_model), "model file model.tflite is missing"),
        ("no bundle", model(tmp / "nowhere"), "no model bundle there"),
        ("unknown key", config("unknown", "[gate]\nmargn_db = 9\n"), "unknown key 'gate.margn_db'"),
        ("wrong type", config("type", '[audio]\nblock_ms = "fast"\n'), "audio.block_ms = 'fast' is invalid"),
        ("out of range", config("range", "[spool]\nmax_events = 0\n"), "spool.max_events = 0 is invalid"),
        ("not TOML", config("syntax", "[gate\n"), "not valid TOML"),
        ("password file others may read",
         config("secret", f'[sinks.mqtt]\nhost = "127.0.0.1"\nusername = "u"\npassword_file = "{open_secret}"\n'),
         "refused, other users may access it (mode 0644"),
        ("spool folder unusable", ["--spool-dir", str(blocker / "spool"), "--webhook-url", "http://127.0.0.1:9/"],
         f"spool.dir {blocker}/spool/webhook: cannot use it"),
    ], wav


def test_each_startup_error_is_one_line_and_exit_78(cases) -> None:
    table, wav = cases

    def listen(args: list[str]):
        return run(SER_EDGE + ["listen", "--from-wav", str(wav), *args], timeout=120)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(listen, [args for _, args, _ in table]))
    for (name, _, text), done in zip(table, results):
        errors = [line for line in done.stderr.splitlines() if ": error: " in line]
        assert done.returncode == 78, (name, done.returncode, done.stderr)
        assert len(errors) == 1 and text in errors[0], (name, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == "", name


def test_the_unit_does_not_restart_on_78() -> None:
    text = UNIT.read_text()
    assert re.search(r"(?m)^RestartPreventExitStatus=78$", text) and re.search(r"(?m)^Restart=on-failure$", text)

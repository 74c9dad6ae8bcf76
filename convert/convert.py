"""`ser-convert`: a `ser-train fit` run folder -> a checked int8 bundle for the device.

Reads the run through its one interface (`ser_train.fit.run.Run`): the windows come from the
feature cache and the run's own clip list, so converting never indexes a corpus.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from ser_edge.errors import ConfigError, SerEdgeError
from ser_edge.model.bundle import MODEL_FILE, sha256_of
from ser_edge.model.classifier import Classifier
from ser_edge.model.load import load_classifier
from ser_train.fit.run import Run, load_run

from .gate import Gate, bundle_gates, gate_failures
from .manifest import build_manifest, write_manifest
from .parity import Parity, top1_agreement
from .quantize import representative_windows, tensor_details, to_int8_tflite
from .utterance import decide, run_head

log = logging.getLogger(__name__)


class GateError(SerEdgeError):
    """A model below the class gate: it is not written (exit 1, as a failed parity check)."""


def convert_run(run_dir: Path, out_dir: Path, *, model_id: Optional[str] = None, calibration: int = 2000,
                progress: bool = True, gate: bool = True) -> tuple[Path, Parity]:
    """Quantize, check parity and the class gate, write ``out_dir/model.tflite`` + manifest; returns
    (bundle dir, parity). A bundle that fails the gate (`ser_convert.gate`) is not written:
    GateError names the classes. ``gate=False`` is for tests of the conversion itself."""
    run = convertible(load_run(run_dir))
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        parity, gates = _build(run, staging, model_id, calibration)
        failures = gate_failures(gates)
        if gate and failures:
            raise GateError(f"{run_dir}: not written to {out_dir}: " + "; ".join(failures))
        out_dir.mkdir(exist_ok=True)
        for item in staging.iterdir():
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for plot in ("confusion.png",):
        if (Path(run_dir) / plot).exists():
            shutil.copy(Path(run_dir) / plot, out_dir / plot)
    return out_dir, parity


def convertible(run: Run) -> Run:
    """``run`` if the device can run it (a conv1d network decided by its windows or the fusion head),
    else ConfigError naming the run and what to convert instead."""
    if run.kind != "conv1d":
        raise ConfigError(f"{run.path}: a {run.kind} run is a reference for ser-train cv, not a device model; "
                          "convert a conv1d run")
    if run.config.model.head not in ("windows", "fusion"):
        raise ConfigError(f"{run.path}: its clips are decided by an utterance head ({run.config.model.head}), which the "
                          "device does not run; convert a run with --head windows or --head fusion")
    if run.config.model.channels != "mfcc":
        raise ConfigError(f"{run.path}: its windows carry {run.config.model.channels} channels beside the MFCC, and the "
                          "device does not feed prosodic channels yet; convert a run with --channels mfcc")
    return run


def _build(run: Run, out_dir: Path, model_id: Optional[str], calibration: int) -> tuple[Parity, dict[str, Gate]]:
    """The bundle in ``out_dir``: quantized, its manifest with parity and gate figures."""
    model = run.load_model()
    entry, head, numbers, z = run_head(run)
    manifest = write_bundle(run, model, out_dir, model_id=model_id, calibration=calibration, utterance=entry)
    parity, float_scores, int8_scores = check_parity(run, model, load_classifier(out_dir))
    utterances = None if head is None else decide(run, head, numbers, z, parity.source, float_scores, int8_scores)
    # the gate judges every decision the device makes: utterances (the default, with a head) and windows
    gates = bundle_gates(parity.int8_report, None if utterances is None else utterances.int8_report)
    verdict = next(iter(gates.values()))  # the default decisions' ("gate"); a head's windows: "window_gate"
    manifest["metrics"] = {**parity.to_dict(), "parity_passed": not parity.failures(), "gate": verdict.to_dict(),
                           **({"window_gate": gates["windows"].to_dict()} if utterances else {}),
                           **({"utterance": utterances.to_dict()} if utterances else {}),
                           "training_run": {k: run.metrics.get(k) for k in ("test", "validation", "epochs_run")}}
    write_manifest(out_dir, manifest)
    return parity, gates


def write_bundle(run: Run, model, out_dir: Path, *, model_id: Optional[str] = None, calibration: int = 2000,
                 utterance: Optional[dict] = None) -> dict:
    """``model`` (the run's float Keras model) quantized to ``out_dir/model.tflite`` with its manifest
    (with the ``utterance`` head entry if given; no metrics yet): a bundle the device loads. Returns
    the manifest as written."""
    # calibrate on clean training windows: the device hears speech, not our augmented copies
    tflite = to_int8_tflite(model, representative_windows(run.windows("train_clean").x, calibration,
                                                          seed=run.config.seed))
    (out_dir / MODEL_FILE).write_bytes(tflite)
    inp, outp, ops = tensor_details(tflite)
    manifest = build_manifest(
        model_id=model_id or f"ser-edge-{len(run.labels)}class-{run.params.stable_hash()[:8]}",
        sha256=sha256_of(out_dir / MODEL_FILE), size_bytes=len(tflite), labels=list(run.labels),
        params=run.params, input_tensor=inp, output_tensor=outp, ops=ops, training=run.data,
        licence=run.licence, prior=run.prior,
    )
    if utterance is not None:
        manifest["utterance"] = utterance
    write_manifest(out_dir, manifest)  # stamped with manifest_sha256, which the device checks
    return manifest


def check_parity(run: Run, model, classifier: Classifier) -> tuple[Parity, np.ndarray, np.ndarray]:
    """Float vs int8 on the test speakers (or, for a final model without any, validation): the
    parity and both models' window scores (n, classes)."""
    source = run.held_out
    windows = run.windows(source)
    if len(windows) == 0:
        raise ConfigError(f"{run.path}: no held-out speakers to check quantization on")
    float_scores = model.predict(windows.x, batch_size=256, verbose=0)
    int8_scores = classifier.scores_many(windows.x)
    reports = [run.clip_report(source, scores) for scores in (float_scores, int8_scores)]
    speakers = sorted(run.split.get(source, ()))
    parity = Parity(top1_agreement(float_scores, int8_scores), len(windows), reports[0], reports[1], speakers, source)
    return parity, float_scores, int8_scores

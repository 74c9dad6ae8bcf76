"""The ser-edge device pipeline side by side with the librosa + Keras pipeline notebooks build.

    python benchmarks/side_by_side.py [--data DIR] [--model BUNDLE] [--runs 3] [--max-clips N] [--json out.json]

Any bundle: `--model default` (a shipped name) or a bundle folder. Both pipelines classify the
same clips: every clip in the model's label set of its held-out speakers (the manifest's
metrics.held_out_speakers: the validation speakers of the shipped bundles, actors 17-20 of
the old window-normalised one), from the corpus folders their names give under --data,
grouped by speaker, each speaker's clips in a fixed shuffled order. The baseline
(`notebook_baseline.py`) is trained on the device model's own training and validation
speakers (the manifest's training_data), once, and cached in .cache/notebook_baseline.

A speaker-normalised bundle runs as the device runs it: each held-out speaker's clips in one
stream of statistics learnt from the bundle's prior (`side_by_side_device`), never a
corpus's statistics; its per-window cost includes the adapter's update and normalisation.

Each pipeline runs in its own fresh process per run, so that imports, start-up and peak RSS
are its own (CPU time from `os.wait4`; peak RSS is the worker's own VmHWM, read after it has
classified every clip, and again at its end). In each process:
* start-up: seconds from spawn to imports done, to ready (model loaded) and to the first
  clip's decision (file -> label, the first clip);
* per clip: file -> label ms (read, resample, features, model, decision), and the labels,
  scored here as accuracy and UAR (unweighted average recall);
* per window (1.5 s of audio every 0.5 s, audio already in memory): feature ms and model ms.
  ser-edge streams (features of the 0.5 s of new audio + normalisation, then int8 inference),
  and is also timed computing each window from scratch; the notebook computes its features
  on the 1.5 s window and calls `model.predict` on it.
Medians over runs; the spread (min-max over runs) says how noisy the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".cache" / "notebook_baseline"
SPAWN_ENV = "SER_BENCH_SPAWN_TIME"
PIPELINES = ("device", "notebook")


def _since_spawn() -> float:
    return round(time.time() - float(os.environ[SPAWN_ENV]), 3)


# ----- the two workers, each run in a process of its own ------------------------------------------


def device_worker(job: dict) -> dict:
    """ser-edge: Recognizer.classify_file per clip, a speaker model's statistics carried from clip to
    clip of each speaker (side_by_side_device); streaming and from-scratch windows."""
    from ser_edge.listen.recognizer import Recognizer  # what `ser-edge classify` imports

    out = {"imported_s": _since_spawn()}
    recognizer = Recognizer(job["bundle"])
    out["ready_s"] = _since_spawn()
    from side_by_side_device import ScratchWindows, clip_classifier, streaming_windows  # beside this script

    speakers, adapted_s = dict(zip(job["clips"], job["speakers"])), []
    out.update(_classify_all(job["clips"], clip_classifier(recognizer, speakers, adapted_s)))
    out["adapted_s"] = adapted_s
    from ser_edge.audio.read import load_audio

    p, rate = recognizer.params, recognizer.params.sample_rate
    audio = ((load_audio(c, rate), speakers[c]) for c in job["clips"])
    out["windows_streaming"] = streaming_windows(audio, recognizer)
    scratch = ScratchWindows(recognizer, lambda c: load_audio(c, rate), speakers)
    out["windows_scratch"] = _time_windows(job["clips"], scratch.load, p.window_samples, p.window_hop_samples,
                                           scratch.featurize, recognizer.classifier.scores)
    return out


def notebook_worker(job: dict) -> dict:
    """librosa.load at 22050 Hz + extract_features + scaler + model.predict, per clip and per window."""
    import keras
    import librosa
    import numpy as np
    from notebook_baseline import SAMPLE_RATE, extract_features  # beside this script: on sys.path

    out = {"imported_s": _since_spawn()}
    model = keras.models.load_model(job["model"])
    mean, scale = np.array(job["mean"]), np.array(job["scale"])
    out["ready_s"] = _since_spawn()

    def predict(features: np.ndarray) -> np.ndarray:
        x = ((features - mean) / scale)[None, :, None].astype(np.float32)
        return model.predict(x, verbose=0)[0]

    def classify(path: str) -> int:
        data, rate = librosa.load(path, sr=SAMPLE_RATE)
        return int(np.argmax(predict(extract_features(data, rate))))

    out.update(_classify_all(job["clips"], classify))

    def call(features: np.ndarray) -> np.ndarray:  # the model called directly: no predict() overhead
        return np.asarray(model(((features - mean) / scale)[None, :, None].astype(np.float32), training=False))

    size, hop = int(1.5 * SAMPLE_RATE), int(0.5 * SAMPLE_RATE)  # the device model's window and hop
    out["windows"] = _time_windows(job["clips"], lambda c: librosa.load(c, sr=SAMPLE_RATE)[0], size, hop,
                                   lambda x: extract_features(x, SAMPLE_RATE), predict, direct=call)
    return out


def _clocks():
    return time.perf_counter(), time.process_time()  # wall; CPU of every thread of this process


def _time_windows(clips: list, load, size: int, hop: int, featurize, infer, direct=None) -> dict:
    """ms per window of ``size`` samples every ``hop``: featurize, infer, their sum, its CPU time
    (all threads; not inflated by waiting for a core) and, if given, ``direct`` (another infer)."""
    from ser_edge.bench.run import percentiles

    features, inference, cpu, direct_ms = [], [], [], []
    for clip in clips:
        x = load(clip)
        for start in range(0, x.size - size + 1, hop):
            w0, c0 = _clocks()
            vector = featurize(x[start:start + size])
            w1, _ = _clocks()
            infer(vector)
            w2, c2 = _clocks()
            features.append(1000 * (w1 - w0))
            inference.append(1000 * (w2 - w1))
            cpu.append(1000 * (c2 - c0))
            if direct is not None:
                direct(vector)
                direct_ms.append(1000 * (time.perf_counter() - w2))
    out = {"features": percentiles(features), "inference": percentiles(inference),
           "total": percentiles([f + i for f, i in zip(features, inference)]), "total_cpu": percentiles(cpu)}
    if direct_ms:
        out["inference_direct"] = percentiles(direct_ms)
    return out


def _classify_all(clips: list, classify) -> dict:
    """Classify every clip in order: first decision time, per-clip ms, predicted label indices, and
    the peak RSS so far (MB), before the per-window timing loads anything more."""
    first, clip_ms, predicted = None, [], []
    for clip in clips:
        t0 = time.perf_counter()
        predicted.append(int(classify(clip)))
        clip_ms.append(1000 * (time.perf_counter() - t0))
        first = first if first is not None else _since_spawn()
    peak = _vm_hwm_mb()
    from ser_edge.bench.run import percentiles

    return {"first_decision_s": first, "per_clip_ms": percentiles(clip_ms), "predicted": predicted,
            "peak_rss_classify_mb": peak}


def _vm_hwm_mb() -> float:
    """This process's peak RSS (VmHWM), MB; its ru_maxrss would start at the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) * 1024 / 1e6, 1)
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS needs Linux")


# ----- the orchestrator ------------------------------------------------------------------------------


def build_jobs(data: Path, bundle_dir: Path, max_clips: int = 0) -> tuple[dict, dict, dict]:
    """(device job, notebook job, facts): the held-out clips, truths and the trained baseline."""
    from notebook_baseline import ensure_model
    from side_by_side_clips import held_out_order, labelled_clips  # beside this script: on sys.path

    from ser_edge.model.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    held_out = set(bundle.manifest["metrics"]["held_out_speakers"])
    parts = bundle.manifest.get("training_data", {})
    train_speakers = set(parts.get("train", {}).get("speakers", []))
    val_speakers = set(parts.get("validation", {}).get("speakers", []))
    clips = labelled_clips(data, bundle.labels, held_out | train_speakers | val_speakers)

    def part(speakers: set) -> list:
        return sorted((c.path, y) for c, y in clips if c.speaker in speakers)

    test = held_out_order([(str(c.path), y, c.speaker) for c, y in clips if c.speaker in held_out], max_clips)
    baseline = ensure_model(part(train_speakers), part(val_speakers), len(bundle.labels), CACHE)
    paths = [p for p, _, _ in test]
    facts = {"labels": list(bundle.labels), "sample_rate": bundle.params.sample_rate, "model_id": bundle.model_id,
             "model_sha256": bundle.sha256, "normalisation": bundle.params.normalisation,
             "truth": [y for _, y, _ in test], "speakers": [s for _, _, s in test],
             "held_out_speakers": sorted(held_out), "held_out_part": bundle.manifest["metrics"].get("held_out_part"),
             "train_speakers": sorted(train_speakers), "validation_speakers": sorted(val_speakers),
             "baseline": {k: v for k, v in baseline.items() if k not in ("mean", "scale")},
             "model_bytes": {"device": bundle.model_path.stat().st_size,
                             "notebook": Path(baseline["model"]).stat().st_size},
             "weight_bytes": {"device": _int8_weight_bytes(bundle.model_path), "notebook": baseline["weight_bytes"]}}
    return ({"bundle": str(bundle_dir), "clips": paths, "speakers": facts["speakers"]},
            {"model": baseline["model"], "mean": baseline["mean"], "scale": baseline["scale"], "clips": paths}, facts)


def _int8_weight_bytes(model_path: Path) -> int:
    """Bytes of the filters and biases of the model's conv and dense ops, as stored in the .tflite."""
    import numpy as np

    from ser_edge.bench.macs import COUNTED
    from ser_edge.model.interpreter import make_interpreter

    interpreter, _ = make_interpreter(str(model_path))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    weights = {int(i) for op in interpreter._get_ops_details() if op["op_name"] in COUNTED for i in op["inputs"][1:]}
    return sum(int(np.prod(tensors[i]["shape"])) * np.dtype(tensors[i]["dtype"]).itemsize for i in weights if i >= 0)


def run_worker(name: str, job: dict, tmp: Path) -> dict:
    """One fresh process of pipeline ``name``; its own report plus wall, CPU and peak RSS."""
    from ser_edge.bench.processes import run_process

    job_file, out_file = tmp / f"{name}-job.json", tmp / f"{name}-out.json"
    job_file.write_text(json.dumps(job))
    load = os.getloadavg()[0]
    os.environ[SPAWN_ENV] = repr(time.time())
    proc = run_process([sys.executable, str(Path(__file__).resolve()), "--worker", name, "--job", str(job_file),
                        "--out", str(out_file)])
    report = json.loads(out_file.read_text())
    report.update(wall_s=round(proc.wall_s, 2), cpu_s=round(proc.cpu_s, 2),
                  load_1m_before=round(load, 2), load_1m_after=round(os.getloadavg()[0], 2))
    return report


def _count(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a count (0 or more)")
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("SER_EDGE_DATA", "../shared/data"))
    ap.add_argument("--model", default="", help="device bundle (default: the shipped default model)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-clips", type=_count, default=0, metavar="N",
                    help="at most N clips of each held-out speaker (quick runs; default 0: all)")
    ap.add_argument("--realtime-seconds", type=float, default=20.0, help="CPU while streaming live; 0 = skip")
    ap.add_argument("--json", dest="json_out", default="")
    ap.add_argument("--worker", choices=PIPELINES, help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        job = json.loads(Path(args.job).read_text())
        result = (device_worker if args.worker == "device" else notebook_worker)(job)
        result["peak_rss_mb"] = _vm_hwm_mb()
        Path(args.out).write_text(json.dumps(result))
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ser_edge.bench.run import machine, pin_bundle, resolve_data_dir
    from ser_edge.model.load import bundle_path

    data = resolve_data_dir(args.data)
    origin = bundle_path(args.model)
    runs = {name: [] for name in PIPELINES}
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as tmp:
        bundle_dir = pin_bundle(origin, Path(tmp))  # the same model for every run, whatever happens to origin
        device_job, notebook_job, facts = build_jobs(data, bundle_dir, args.max_clips)
        for i in range(args.runs):
            for name, job in (("device", device_job), ("notebook", notebook_job)):
                runs[name].append(run_worker(name, job, Path(tmp)))
                print(f"run {i + 1}/{args.runs} {name}: {runs[name][-1]['wall_s']} s "
                      f"(load {runs[name][-1]['load_1m_before']})", file=sys.stderr, flush=True)
        if args.realtime_seconds > 0:
            os.environ["XDG_STATE_HOME"] = tmp  # the listener's statistics file: its own, not the user's
            os.environ.pop("STATE_DIRECTORY", None)
            realtime = _realtime_cpu(device_job["clips"][:8], bundle_dir, facts["sample_rate"], args.realtime_seconds)
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "data": str(data),
              "bundle": str(origin.resolve()), **facts, "runs": runs}
    if args.realtime_seconds > 0:
        result["realtime_cpu"] = realtime
    from side_by_side_report import format_summary, summarise

    result["summary"] = summarise(result)
    print(format_summary(result))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))


def _realtime_cpu(clips: list, bundle_dir: Path, rate: int, seconds: float) -> dict:
    """CPU of `listen --from-wav --realtime` on these clips looped, as in `ser-edge bench`."""
    from ser_edge.audio.read import load_audio
    from ser_edge.bench.processes import realtime_cpu

    return realtime_cpu([load_audio(c, rate) for c in clips], bundle_dir, rate, seconds)


if __name__ == "__main__":
    main()

"""`ser-edge bench`: speed, memory and size of the device pipeline, measured on real speech.

Device rule: NumPy, the standard library and the interpreter only (no TensorFlow, librosa).
All times are wall-clock (`time.perf_counter`) on this machine with whatever else it runs:
the 1-minute load average before and after is part of the report.

Per analysis window (``window_ms`` of audio, one every ``window_hop_ms``):
* features: the streaming MFCC of the ``window_hop_ms`` of new audio that completes the
  window, pushed in ``BLOCK_MS`` blocks as `listen` does, plus the window's normalisation;
* prosody, when the bundle's parameters have it on or ``--prosody`` asks what it would cost: the
  streaming prosody tracks (`ser_edge.frontend.prosody`) of the same new audio, in the same blocks,
  given the MFCC's power spectra (`StreamingMfcc.push_with_power`);
* inference: quantize, `invoke`, dequantize (`Classifier.scores`).
The total is features + prosody (when measured) + inference.
Whole pipeline: real-time factor = processing s / audio s of `FileSource` -> `Pipeline` ->
JSON lines (what `listen --from-wav` does, minus writing to stdout). Start-up, peak RSS of
the commands and CPU while streaming are measured on separate processes (`ser_edge.bench.processes`).
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ser_edge.audio.read import load_audio
from ser_edge.errors import ConfigError
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.prosody import ProsodyExtractor
from ser_edge.frontend.windows import normalise_window
from ser_edge.listen.adapter import for_bundle
from ser_edge.listen.pipeline import Pipeline
from ser_edge.model.bundle import Bundle, load_bundle
from ser_edge.model.classifier import Classifier
from ser_edge.model.interpreter import make_interpreter
from ser_edge.model.load import bundle_path, load_classifier
from ser_edge.sources import FileSource

from . import processes
from .adaptcost import adaptation_cost
from .macs import count_macs
from .processes import peak_rss_mb

DEFAULT_DATA = "../shared/data"
AUDIO_SUFFIXES = (".flac", ".wav")
#: audio block pushed at a time, ms (the listener's default audio.block_ms)
BLOCK_MS = 100
#: runs of each start-up measurement (the median is reported)
STARTUP_RUNS = 3


def resolve_data_dir(given: Optional[str | os.PathLike]) -> Path:
    """--data, else $SER_EDGE_DATA, else ../shared/data; ConfigError if it is not a folder."""
    path = Path(given or os.environ.get("SER_EDGE_DATA") or DEFAULT_DATA).resolve()
    if not path.is_dir():
        raise ConfigError(f"data folder {str(path)!r} not found: pass --data DIR or set SER_EDGE_DATA "
                          "(a folder of speech clips, e.g. one holding ravdess/ and tess/)")
    return path


def held_out_folders(data: Path, bundle: Bundle) -> list[Path]:
    """Folders of the manifest's held-out RAVDESS speakers ("ravdess:17" -> ravdess/Actor_17) that exist."""
    speakers = bundle.manifest.get("metrics", {}).get("held_out_speakers", [])
    folders = [data / "ravdess" / f"Actor_{s.split(':', 1)[1]}" for s in speakers if s.startswith("ravdess:")]
    return [f for f in folders if f.is_dir()]


def pick_clips(data: Path, bundle: Bundle, n: int) -> list[Path]:
    """``n`` clips spread evenly over the held-out speakers' files (else over every audio file
    outside ``quirks/``), sorted by name, so that reruns use the same clips."""
    roots = held_out_folders(data, bundle) or [data]
    files = sorted(p for root in roots for p in root.rglob("*")
                   if p.suffix.lower() in AUDIO_SUFFIXES and "quirks" not in p.parts)
    if not files:
        raise ConfigError(f"data folder {str(data)!r} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    picks = np.unique(np.linspace(0, len(files) - 1, min(n, len(files))).round().astype(int))
    return [files[i] for i in picks]


def percentiles(values_ms: Sequence[float]) -> dict[str, Any]:
    """n, p50, p95, p99 and mean of a list of milliseconds (rounded to 1 us)."""
    x = np.asarray(values_ms, dtype=np.float64)
    if x.size == 0:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None}
    p50, p95, p99 = np.percentile(x, [50, 95, 99])
    return {"n": int(x.size), "p50": round(float(p50), 3), "p95": round(float(p95), 3),
            "p99": round(float(p99), 3), "mean": round(float(x.mean()), 3)}


def _clocks() -> np.ndarray:
    """[wall, CPU of this process] in seconds: CPU excludes time spent waiting for a core."""
    return np.array([time.perf_counter(), time.process_time()])


def window_timings(audio: Iterable[np.ndarray], classifier: Classifier, *, prosody: bool = False) -> dict[str, Any]:
    """Feature, prosody, inference and total ms per window over clips of float32 audio at the model
    rate (any iterable: a generator keeps one clip in memory at a time); ``total_cpu`` is the
    process CPU time of the same work, which a busy machine's preemptions do not inflate. Prosody
    is measured when the bundle's parameters have it on, or when ``prosody`` asks for it."""
    p = classifier.bundle.params
    block = p.sample_rate * BLOCK_MS // 1000
    blocks_per_hop = max(1, round(p.window_hop_samples / block))
    extractor = MfccExtractor(p)
    tracker = ProsodyExtractor(p) if prosody or p.prosody else None
    adapter = for_bundle(classifier.bundle)
    norm = adapter.norm() if adapter is not None else None  # speaker models: the prior's statistics
    classifier.scores(np.zeros(classifier.input_shape[1:], np.float32))  # first invoke sets up kernels
    features, tracks, inference, cpu = [], [], [], []
    for x in audio:
        stream, frames, recent = extractor.stream(), [], deque(maxlen=blocks_per_hop)
        prosodic = tracker.stream() if tracker is not None else None
        next_end = p.window_frames
        for i in range(0, x.size, block):
            t0 = _clocks()
            if prosodic is None:
                frames.append(stream.push(x[i:i + block]))
            else:  # the same MFCC, with the power spectra the prosody's spectral columns take
                rows, power = stream.push_with_power(x[i:i + block])
                frames.append(rows)
            t1 = _clocks()
            if prosodic is not None:
                prosodic.push(x[i:i + block], power)
            recent.append(np.concatenate([t1 - t0, _clocks() - t1]))  # the last blocks_per_hop pushes make
            # the window's new frames: [MFCC wall, MFCC CPU, prosody wall, prosody CPU]
            while stream.frames_out >= next_end:  # a window ends within this block
                rows = np.concatenate(frames)[next_end - p.window_frames:next_end]
                t1 = _clocks()
                window = normalise_window(rows, p, norm)
                t2 = _clocks()
                classifier.scores(window)
                t3 = _clocks()
                pushes = np.sum(recent, axis=0)
                features.append(1000.0 * (pushes[0] + t2[0] - t1[0]))
                tracks.append(1000.0 * pushes[2])
                inference.append(1000.0 * (t3[0] - t2[0]))
                cpu.append(1000.0 * (pushes[1] + pushes[3] + t3[1] - t1[1]))
                next_end += p.window_hop_frames
    out = {"features": percentiles(features), "inference": percentiles(inference),
           "total": percentiles(np.add(np.add(features, tracks), inference)), "total_cpu": percentiles(cpu),
           "window_s": p.window_ms / 1000.0, "hop_s": p.window_hop_ms / 1000.0}
    if tracker is not None:
        out["prosody"] = {**percentiles(tracks), "model_uses_it": p.prosody}
    return out


def pipeline_rtf(paths: Sequence[Path], classifier: Classifier) -> dict[str, Any]:
    """Real-time factor (processing s per audio s) of file -> events, per clip and overall."""
    rate = classifier.bundle.params.sample_rate
    per_clip, busy, audio_s, events, decided = [], 0.0, 0.0, 0, []
    for path in paths:
        t0 = time.perf_counter()
        source = FileSource(path, rate, block_ms=BLOCK_MS)
        source.open()
        pipeline = Pipeline(classifier, status_interval_s=60.0)
        lines = []
        while (block := source.read()) is not None:
            lines += [e.to_json() for e in pipeline.push(block.samples)]
        lines += [e.to_json() for e in pipeline.finish()]
        source.close()
        elapsed = time.perf_counter() - t0
        per_clip.append(elapsed / pipeline.audio_s)
        busy, audio_s, events = busy + elapsed, audio_s + pipeline.audio_s, events + len(lines)
        if pipeline.last_emotion is not None:
            decided.append(str(path))
    return {"rtf_p50": round(float(np.median(per_clip)), 5), "rtf_max": round(float(np.max(per_clip)), 5),
            "rtf_overall": round(busy / audio_s, 5), "audio_s": round(audio_s, 2), "events": events,
            "clips_with_emotion": decided}


def machine() -> dict[str, Any]:
    """CPU model, cores, Python, platform and the 1-minute load average now."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_1m": round(os.getloadavg()[0], 2)}


def run_bench(model: Optional[str | os.PathLike], data: Optional[str | os.PathLike], *, clips: int = 40,
              realtime_s: float = 20.0, prosody: bool = False, log=lambda text: None) -> dict[str, Any]:
    """Every figure of `ser-edge bench` as one JSON-able dict (see the module docstring);
    ``prosody``: time the prosody tracks per window even if the bundle does not use them."""
    data_dir = resolve_data_dir(data)
    with tempfile.TemporaryDirectory(prefix="ser-edge-bench-") as tmp:
        origin = bundle_path(model)
        report = _run(load_bundle(pin_bundle(origin, Path(tmp))), data_dir, clips, realtime_s, prosody, log)
    report["model"]["path"] = str(origin.resolve())  # not the copy's
    return report


def pin_bundle(bundle_dir: Path, into: Path) -> Path:
    """A copy of a bundle folder inside ``into``: every measurement then uses the same model,
    even if the original is replaced meanwhile."""
    load_bundle(bundle_dir)  # a clear BundleError about the original, not the copy
    return Path(shutil.copytree(bundle_dir, into / "bundle"))


def _run(bundle: Bundle, data_dir: Path, clips: int, realtime_s: float, prosody: bool, log) -> dict[str, Any]:
    bundle_dir = bundle.path
    classifier = load_classifier(bundle)
    paths = pick_clips(data_dir, bundle, clips)
    report: dict[str, Any] = {"machine_before": machine(), "model": _model_facts(bundle, classifier),
                              "data": {"dir": str(data_dir), "clips": len(paths)}}
    log(f"timing {len(paths)} clips")
    audio = [load_audio(p, bundle.params.sample_rate) for p in paths]
    report["data"]["audio_s"] = round(sum(x.size for x in audio) / bundle.params.sample_rate, 2)
    report["per_window_ms"] = window_timings(audio, classifier, prosody=prosody)
    report["pipeline"] = pipeline_rtf(paths, classifier)
    head = np.concatenate(audio[:5]) if audio else np.zeros(0, np.float32)
    report["adaptation_us"] = adaptation_cost(bundle, MfccExtractor(bundle.params)(head))
    report["peak_rss_mb"] = {"bench_process": peak_rss_mb()}
    log(f"start-up: {STARTUP_RUNS} runs each of classify and listen --from-wav")
    decided = report["pipeline"].pop("clips_with_emotion")
    report["pipeline"]["clips_with_emotion"] = len(decided)
    clip = Path(decided[0]) if decided else paths[0]  # listen's first decision needs a clip that gets one
    report["startup"] = processes.first_decisions(clip, bundle_dir, runs=STARTUP_RUNS)
    report["peak_rss_mb"].update(report["startup"].pop("peak_rss_mb"))
    if realtime_s > 0:
        log(f"streaming {realtime_s:g} s at real-time pace")
        report["realtime_cpu"] = processes.realtime_cpu(audio, bundle_dir, bundle.params.sample_rate, realtime_s)
    report["machine_after"] = machine()
    return report


def _model_facts(bundle: Bundle, classifier: Classifier) -> dict[str, Any]:
    try:
        interpreter, _ = make_interpreter(str(bundle.model_path))  # its own: the op walk reads every tensor
        macs: Any = count_macs(interpreter).to_dict()
    except (RuntimeError, KeyError, ValueError) as exc:  # a private API; a figure missing is not fatal
        macs = {"total": None, "error": str(exc)}
    return {"path": str(bundle.path), "id": bundle.model_id, "sha256": bundle.sha256, "file_bytes": bundle.model_path.stat().st_size,
            "backend": classifier.backend, "input_shape": list(classifier.input_shape), "macs": macs}


def _ms(stats: dict[str, Any]) -> str:
    return "  ".join(f"{stats[k]:>7.3f}" if stats[k] is not None else "      -" for k in ("p50", "p95", "p99"))


def _or_dash(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _adapt_line(a: Optional[dict]) -> str:
    if not a:
        return "-"
    note = "" if a["adaptive_model"] else " (this model does not adapt: what it would cost)"
    return f"p50 {a['p50'] / 1000:.3f}  p95 {a['p95'] / 1000:.3f} ms; {a['memory_floats']} floats of state{note}"


def _prosody_lines(stats: Optional[dict]) -> list[str]:
    if not stats:
        return []
    note = "" if stats["model_uses_it"] else "  (this model does not use it: what it would cost)"
    return [f"  prosody (F0, voicing, energy, spectrum)    {_ms(stats)}{note}"]


def format_report(r: dict[str, Any]) -> str:
    """The report as a short table for people (the JSON has every figure)."""
    m, w, pipe, start = r["model"], r["per_window_ms"], r["pipeline"], r["startup"]
    macs = m["macs"].get("total")
    rss = r["peak_rss_mb"]
    lines = [
        f"model      {m['id']} ({m['file_bytes'] / 1000:.1f} kB, "
        f"{_or_dash(macs and macs / 1e6, '.2f')} M multiply-accumulates per window, {m['backend']})",
        f"data       {r['data']['clips']} clips, {r['data']['audio_s']:.0f} s of speech from {r['data']['dir']}",
        f"machine    {r['machine_before']['cpu']}, {r['machine_before']['cores']} cores; load (1 min) "
        f"{r['machine_before']['load_1m']} before, {r['machine_after']['load_1m']} after",
        "",
        f"per window ({w['window_s']:g} s, one every {w['hop_s']:g} s; {w['total']['n']} windows)"
        "      p50      p95      p99  ms",
        f"  features (streaming MFCC + normalisation)  {_ms(w['features'])}",
        *_prosody_lines(w.get("prosody")),
        f"  inference (int8, quantize..dequantize)     {_ms(w['inference'])}",
        f"  total                                      {_ms(w['total'])}",
        f"  total, CPU time (preemption excluded)      {_ms(w['total_cpu'])}",
        f"  speaker statistics (learn + normalise)     {_adapt_line(r.get('adaptation_us'))}",
        "",
        f"pipeline file -> events   real-time factor {pipe['rtf_overall']:.4f} overall, {pipe['rtf_p50']:.4f} "
        f"median per clip ({1 / pipe['rtf_overall']:.0f}x faster than real time)",
        f"first decision            classify {_or_dash(start['classify_first_s'], '.2f')} s, listen --from-wav "
        f"{_or_dash(start['listen_first_s'], '.2f')} s after process start (median of {start['runs']})",
        f"peak RSS                  classify {rss['classify']} MB, listen {rss['listen']} MB, "
        f"this benchmark {rss['bench_process']} MB",
    ]
    cpu = r.get("realtime_cpu")
    if cpu:
        lines.append(f"CPU streaming live        {_or_dash(cpu['percent_of_one_core'], '.2f')} % of one core over "
                     f"{cpu['seconds']:.0f} s (listen --from-wav --realtime)")
    return "\n".join(lines)

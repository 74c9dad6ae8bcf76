"""Time and peak memory of `ser-edge classify` and `ser-edge listen --from-wav` against audio length.

    python benchmarks/scaling.py [--data DIR] [--minutes 1,10,60] [--runs 3] [--json out.json]

Builds one long 16-bit mono WAV per length in a temporary folder (deleted afterwards; never
committed), from real speech clips with pauses of silence, a low noise floor and bursts of
noise between them, written with the standard library's `wave`. Each command runs in a fresh
process (`ser_edge.bench.processes.run_ser_edge`: wall and CPU time from `os.wait4`, peak RSS as
the process's own VmHWM).
Prints one row per length and command (median over runs, min-max) and, per command, the
least-squares slope of time and of peak RSS per audio minute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from ser_edge.audio.read import load_audio
from ser_edge.bench.processes import run_ser_edge
from ser_edge.bench.run import machine, pin_bundle, resolve_data_dir
from ser_edge.model.bundle import load_bundle
from ser_edge.model.load import bundle_path

RATE = 16000
#: background noise floor and noise bursts, dBFS (RMS)
FLOOR_DB, BURST_DB = -60.0, -35.0
COMMANDS = ("classify", "listen --from-wav")


def source_clips(data: Path, count: int = 120) -> list[np.ndarray]:
    """``count`` real clips spread over the RAVDESS and TESS folders, float32 at 16 kHz."""
    files = sorted(p for sub in ("ravdess", "tess") for p in (data / sub).rglob("*.flac"))
    if not files:
        sys.exit(f"scaling.py: no .flac clips under {data}/ravdess or {data}/tess")
    picks = np.unique(np.linspace(0, len(files) - 1, min(count, len(files))).round().astype(int))
    return [load_audio(files[i], RATE) for i in picks]


def _noise(rng: np.random.Generator, n: int, db: float) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float32) * np.float32(10 ** (db / 20))


def segments(clips: list[np.ndarray], seconds: float, rng: np.random.Generator):
    """Yield float32 pieces totalling ``seconds``: speech, silence 0.3-3 s, sometimes a 1-4 s noise burst."""
    left, i = int(seconds * RATE), 0
    while left > 0:
        speech = clips[i % len(clips)] * np.float32(10 ** (rng.uniform(-6, 0) / 20))
        pause = np.zeros(int(rng.uniform(0.3, 3.0) * RATE), np.float32)
        burst = _noise(rng, int(rng.uniform(1, 4) * RATE), BURST_DB) if rng.random() < 0.2 else pause[:0]
        for piece in (speech, pause, burst):
            piece = piece[:left] + _noise(rng, min(piece.size, left), FLOOR_DB)
            left -= piece.size
            yield piece
        i += 1


def write_long_wav(path: Path, clips: list[np.ndarray], seconds: float, seed: int = 0) -> Path:
    """A 16-bit mono WAV of ``seconds`` at 16 kHz, written piece by piece (bounded memory)."""
    rng = np.random.default_rng(seed)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        for piece in segments(clips, seconds, rng):
            w.writeframes(np.clip(np.round(piece * 32767), -32768, 32767).astype("<i2").tobytes())
    return path


def fit_slope(minutes: list[float], values: list[float]) -> tuple[float, float]:
    """Least-squares (intercept, slope per minute) of values against minutes."""
    slope, intercept = np.polyfit(np.asarray(minutes, float), np.asarray(values, float), 1)
    return float(intercept), float(slope)


def measure(wav: Path, command: str, bundle: Path, runs: int) -> dict:
    """Median (and min-max) wall s, CPU s and peak RSS MB of one command on one file over ``runs``."""
    args = command.split() + [str(wav), "--model", str(bundle)]
    done = []
    for _ in range(runs):
        load = os.getloadavg()[0]
        done.append((run_ser_edge(args), load))
    out = {"runs": runs, "load_1m": [round(load, 2) for _, load in done], "lines": done[0][0].lines}
    for key in ("wall_s", "cpu_s", "peak_rss_mb"):
        values = [getattr(run, key) for run, _ in done]
        out[key] = {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
                    "max": round(max(values), 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("SER_EDGE_DATA", "../shared/data"))
    ap.add_argument("--minutes", default="1,10,60", help="comma-separated audio lengths, minutes")
    ap.add_argument("--model", default="", help="bundle (default: the shipped default model)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", dest="json_out", default="")
    args = ap.parse_args()
    minutes = [float(m) for m in args.minutes.split(",")]
    clips = source_clips(resolve_data_dir(args.data))
    rows = []
    origin = bundle_path(args.model)
    with tempfile.TemporaryDirectory(prefix="ser-edge-scaling-") as tmp:
        bundle = pin_bundle(origin, Path(tmp))  # the same model throughout, whatever happens to origin
        sha256 = load_bundle(bundle).sha256
        for length in minutes:
            wav = write_long_wav(Path(tmp) / f"{length:g}min.wav", clips, length * 60)
            for command in COMMANDS:
                row = {"minutes": length, "command": command, **measure(wav, command, bundle, args.runs)}
                rows.append(row)
                print(_row_text(row), flush=True)
    slopes = _slopes(rows)
    for line in slopes["text"]:
        print(line)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
                                                   "model": str(origin.resolve()), "model_sha256": sha256,
                                                   "rows": rows, "slopes": slopes["fits"]}, indent=2))


def _row_text(row: dict) -> str:
    wall, rss = row["wall_s"], row["peak_rss_mb"]
    rtf = wall["median"] / (row["minutes"] * 60)
    return (f"{row['minutes']:>5g} min  {row['command']:18s} {wall['median']:8.2f} s ({wall['min']:.2f}-{wall['max']:.2f})"
            f"  RTF {rtf:.4f}  peak RSS {rss['median']:7.1f} MB ({rss['min']:.1f}-{rss['max']:.1f})"
            f"  CPU {row['cpu_s']['median']:.2f} s  load {row['load_1m']}")


def _slopes(rows: list[dict]) -> dict:
    fits, text = {}, []
    for command in COMMANDS:
        mine = [r for r in rows if r["command"] == command]
        if len(mine) < 2:
            continue
        x = [r["minutes"] for r in mine]
        t0, t_slope = fit_slope(x, [r["wall_s"]["median"] for r in mine])
        c0, c_slope = fit_slope(x, [r["cpu_s"]["median"] for r in mine])
        m0, m_slope = fit_slope(x, [r["peak_rss_mb"]["median"] for r in mine])
        fits[command] = {"time_s_at_0": round(t0, 3), "time_s_per_min": round(t_slope, 4),
                         "cpu_s_at_0": round(c0, 3), "cpu_s_per_min": round(c_slope, 4),
                         "rss_mb_at_0": round(m0, 1), "rss_mb_per_min": round(m_slope, 2)}
        text.append(f"{command:18s} wall {t0:.2f} s + {t_slope:.3f} s per audio minute; CPU {c0:.2f} s + "
                    f"{c_slope:.3f} s per minute; peak RSS {m0:.1f} MB + {m_slope:.2f} MB per minute")
    return {"fits": fits, "text": text}


if __name__ == "__main__":
    main()

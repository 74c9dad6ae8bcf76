"""Benchmarks of whole `ser-edge` processes: start-up to first decision, peak RSS, CPU while streaming.

Each figure comes from a fresh process, so imports, model loading and memory are those a
user meets. CPU time comes from the kernel's accounting of that one child (`os.wait4`).
Peak RSS is the child's own VmHWM, which it writes at exit (`ser_edge_argv`): the
``ru_maxrss`` that `os.wait4` reports is useless here, because Linux carries the parent's
high-water mark into the child at exec, so every child of a 60 MB benchmark "peaks" at
60 MB at least. CPU while streaming is sampled from /proc/PID/stat after start-up, so that
importing and loading the model do not count as streaming.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ser_edge.errors import SerEdgeError
from ser_edge.service.recorder import write_wav_private

#: how long after the listener says "listening:" before CPU sampling starts, s
SETTLE_S = 0.5
#: extra audio in the real-time file beyond the measured span, s (start-up happens meanwhile)
MARGIN_S = 15.0
#: what a listen process prints once it is up (an INFO log line on stderr)
READY_TEXT = "listening:"
EMOTION_TEXT = '"type":"emotion"'


#: `ser-edge` as its console script runs it, plus an exit hook writing VmHWM (KiB) to argv[1]
_WRAPPER = """
import atexit, sys

def _peak(path=sys.argv.pop(1)):
    try:
        with open('/proc/self/status') as f:
            kib = [line.split()[1] for line in f if line.startswith('VmHWM:')]
        with open(path, 'w') as f:
            f.write(kib[0] if kib else '')
    except OSError:
        pass

atexit.register(_peak)
sys.argv[0] = 'ser-edge'
from ser_edge.cli import main
main()
"""


def ser_edge_argv(peak_file: str | os.PathLike) -> list[str]:
    """Start `ser-edge` (as its console script does) so that it writes its peak RSS to ``peak_file``."""
    return [sys.executable, "-c", _WRAPPER, str(peak_file)]


@dataclass(frozen=True)
class ProcessRun:
    """One finished process: seconds from spawn to its first matching stdout line (None if
    none matched), wall s, peak RSS in MB, CPU s (user + system), stdout lines, exit status."""

    first_s: Optional[float]
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    lines: int
    returncode: int


class _Drain(threading.Thread):
    """Reads a pipe to its end (so the child never blocks on it); notes when ``marker`` appears."""

    def __init__(self, pipe: Any, marker: str = "") -> None:
        super().__init__(daemon=True)
        self.pipe, self.marker = pipe, marker
        self.seen = threading.Event()
        self.tail: list[str] = []

    def run(self) -> None:
        for line in self.pipe:
            self.tail = (self.tail + [line.rstrip()])[-5:]
            if self.marker and self.marker in line:
                self.seen.set()


def _finish(proc: subprocess.Popen, argv: Sequence[str], errors: _Drain) -> tuple[Any, int]:
    """Reap the child with its own rusage; SerEdgeError with its last stderr line if it failed."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    errors.join(timeout=5)
    if proc.returncode not in (0, -signal.SIGTERM):
        last = errors.tail[-1] if errors.tail else "no message"
        shown = ["ser-edge", *argv[4:]] if argv[1:2] == ["-c"] else argv  # not the wrapper's source
        raise SerEdgeError(f"benchmark process {' '.join(shown)} failed (exit {proc.returncode}): {last}")
    return usage, proc.returncode


def run_ser_edge(args: Sequence[str], *, match: str = "") -> ProcessRun:
    """`ser-edge ARGS` to its end (see `run_process`), with the peak RSS it reports itself."""
    with tempfile.TemporaryDirectory(prefix="ser-edge-bench-") as tmp:
        peak_file = Path(tmp) / "peak"
        run = run_process(ser_edge_argv(peak_file) + list(args), match=match)
        return dataclasses.replace(run, peak_rss_mb=_read_peak(peak_file, run.peak_rss_mb))


def _read_peak(path: Path, fallback: float) -> float:
    """MB from a VmHWM file in KiB; ``fallback`` (ru_maxrss, an upper bound) without /proc."""
    try:
        return round(int(path.read_text()) * 1024 / 1e6, 1)
    except (OSError, ValueError):
        return fallback


def peak_rss_mb(usage: Any = None) -> float:
    """Peak resident memory in MB (10^6 bytes): of the rusage given (ru_maxrss), else of this
    process: VmHWM from /proc/self/status, or ru_maxrss where there is no /proc.

    VmHWM first because ru_maxrss of a process started by a bigger one starts at that one's
    peak (Linux copies the high-water mark at exec).
    """
    if usage is None:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) * 1024 / 1e6, 1)
        except (OSError, ValueError):
            pass
        usage = resource.getrusage(resource.RUSAGE_SELF)
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    return round(usage.ru_maxrss * scale / 1e6, 1)


def run_process(argv: Sequence[str], *, match: str = "") -> ProcessRun:
    """Run ``argv`` to its end, timing the first stdout line containing ``match`` ('' = any line).

    Its ``peak_rss_mb`` is ru_maxrss, which includes this process's own peak (see above).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors = _Drain(proc.stderr)
    errors.start()
    first, lines = None, 0
    for line in proc.stdout:
        lines += 1
        if first is None and match in line:
            first = time.perf_counter() - t0
    usage, code = _finish(proc, argv, errors)
    return ProcessRun(first, time.perf_counter() - t0, peak_rss_mb(usage), usage.ru_utime + usage.ru_stime,
                      lines, code)


def _median(values: Sequence[Optional[float]], digits: int = 3) -> Optional[float]:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), digits) if known else None


def first_decisions(clip: Path, bundle_dir: Path, *, runs: int = 3) -> dict[str, Any]:
    """Spawn-to-first-decision of `classify FILE` (its line) and `listen --from-wav FILE` (its first
    emotion event), ``runs`` times each; medians, every run, and the median peak RSS of each."""
    out: dict[str, Any] = {"clip": str(clip), "runs": runs, "peak_rss_mb": {}}
    commands = {"classify": (["classify", "--model", str(bundle_dir), str(clip)], ""),
                "listen": (["listen", "--from-wav", str(clip), "--model", str(bundle_dir)], EMOTION_TEXT)}
    for name, (args, match) in commands.items():
        done = [run_ser_edge(args, match=match) for _ in range(runs)]
        out[f"{name}_first_s"] = _median([r.first_s for r in done])
        out[f"{name}_wall_s"] = _median([r.wall_s for r in done])
        out[f"{name}_first_runs_s"] = [None if r.first_s is None else round(r.first_s, 3) for r in done]
        out["peak_rss_mb"][name] = _median([r.peak_rss_mb for r in done], 1)
    return out


def proc_cpu_s(pid: int) -> Optional[float]:
    """User + system CPU seconds of a running process from /proc/PID/stat; None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime in clock ticks


def looped_audio(clips: Sequence[np.ndarray], seconds: float, sample_rate: int) -> np.ndarray:
    """The clips (float32 at ``sample_rate``) one after another, repeated to ``seconds``, as int16."""
    need = int(seconds * sample_rate)
    reps = -(-need // max(1, sum(c.size for c in clips)))
    x = np.concatenate(list(clips) * reps)[:need]
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def realtime_cpu(clips: Sequence[np.ndarray], bundle_dir: Path, sample_rate: int, seconds: float) -> dict[str, Any]:
    """CPU of `listen --from-wav --realtime` over ``seconds`` of steady streaming, as % of one core."""
    with tempfile.TemporaryDirectory(prefix="ser-edge-bench-") as tmp:
        wav = Path(tmp) / "stream.wav"
        write_wav_private(wav, looped_audio(clips, seconds + MARGIN_S, sample_rate), sample_rate)
        peak_file = Path(tmp) / "peak"
        argv = ser_edge_argv(peak_file) + ["listen", "--from-wav", str(wav), "--realtime", "--model", str(bundle_dir)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        errors = _Drain(proc.stderr, READY_TEXT)
        errors.start()
        try:
            sample = _sample_cpu(proc.pid, errors, seconds)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.send_signal(signal.SIGTERM)  # a clean stop: the listener finishes and exits 0
        usage, _ = _finish(proc, argv, errors)
        sample["peak_rss_mb"] = _read_peak(peak_file, peak_rss_mb(usage))
    whole_wall = time.perf_counter() - t0
    sample.update(whole_process_cpu_s=round(usage.ru_utime + usage.ru_stime, 3), whole_process_wall_s=round(whole_wall, 2),
                  method="(utime+stime from /proc/PID/stat) / wall over the span, starting "
                         f"{SETTLE_S} s after the listener logged '{READY_TEXT}'")
    return sample


def _sample_cpu(pid: int, errors: _Drain, seconds: float) -> dict[str, Any]:
    if not errors.seen.wait(timeout=120):
        raise SerEdgeError(f"the benchmark listener did not start within 120 s: {errors.tail[-1:]}")
    time.sleep(SETTLE_S)
    cpu_a, t_a = proc_cpu_s(pid), time.perf_counter()
    time.sleep(seconds)
    cpu_b, t_b = proc_cpu_s(pid), time.perf_counter()
    if cpu_a is None or cpu_b is None:
        return {"seconds": round(t_b - t_a, 2), "percent_of_one_core": None}
    return {"seconds": round(t_b - t_a, 2), "cpu_s": round(cpu_b - cpu_a, 3),
            "percent_of_one_core": round(100.0 * (cpu_b - cpu_a) / (t_b - t_a), 2)}

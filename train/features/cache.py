"""Per-clip features from the device's own front end, computed in parallel and cached.

A clip's features are its MFCC frames, (n, n_mfcc) float32, the voice gate's
speech flags, (n_hops,) bool, and, when the parameters have ``prosody`` on, its prosody
rows, (n, 7) float32 (`ser_edge.frontend.prosody.PROSODY_COLUMNS`, row i beside MFCC frame i),
exactly as `ser_edge` computes them on the device. The cache is keyed by the feature-parameter
frame hash (which holds the prosody settings when prosody is on), a variant name (clean audio
or an augmented copy) and the file's path, size and mtime, so a second run reads instead
of computing, and a changed file or parameter is recomputed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from ser_edge.audio.read import load_audio
from ser_edge.errors import SerEdgeError
from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.prosody import ProsodyExtractor
from ser_edge.frontend.vad import VoiceGate

log = logging.getLogger(__name__)

#: turns clean audio into an augmented copy: (samples, rng) -> samples
AudioTransform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class ClipFeatures:
    """MFCC frames (n, n_mfcc) float32, speech flags (n_hops,) bool and, with prosody on,
    prosody rows (n, 7) float32 of one clip (None with prosody off)."""

    frames: np.ndarray
    speech: np.ndarray
    prosody: Optional[np.ndarray] = None


def compute_features(samples: np.ndarray, params: FeatureParams) -> ClipFeatures:
    """Front end + voice gate (+ prosody when ``params.prosody``) on 1-D float32 audio at
    ``params.sample_rate``."""
    frames = MfccExtractor(params)(samples)
    speech = VoiceGate.from_params(params).push(samples)
    prosody = ProsodyExtractor(params)(samples) if params.prosody else None
    return ClipFeatures(frames=frames, speech=np.asarray(speech, dtype=bool), prosody=prosody)


class FeatureCache:
    """One .npz per clip and variant under ``root/<frame params hash>/<variant>/``."""

    def __init__(self, root: Path, params: FeatureParams):
        self.root = Path(root) / params.frame_hash()
        self.params = params

    def path_for(self, clip_path: Path, variant: str) -> Path:
        st = os.stat(clip_path)
        ident = f"{Path(clip_path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
        digest = hashlib.sha1(ident.encode()).hexdigest()[:20]
        return self.root / variant / digest[:2] / f"{digest}.npz"

    def load(self, clip_path: Path, variant: str) -> Optional[ClipFeatures]:
        """The stored features, or None when absent, half-written, or without the prosody
        rows that these parameters want."""
        path = self.path_for(clip_path, variant)
        try:
            with np.load(path) as z:
                prosody = z["prosody"] if self.params.prosody else None  # KeyError: made without
                return ClipFeatures(frames=z["frames"], speech=z["speech"], prosody=prosody)
        except (FileNotFoundError, zipfile.BadZipFile, KeyError, ValueError, EOFError):
            return None  # absent or a half-written file from an interrupted run

    def store(self, clip_path: Path, variant: str, features: ClipFeatures) -> None:
        path = self.path_for(clip_path, variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        extra = {} if features.prosody is None else {"prosody": features.prosody}
        np.savez(tmp, frames=features.frames, speech=features.speech, **extra)
        os.replace(tmp, path)  # atomic: readers never see half a file


@dataclass(frozen=True)
class _Job:
    path: Path
    variant: str
    seed: int


def _variant_seed(path: Path, variant: str, base_seed: int) -> int:
    digest = hashlib.sha1(f"{base_seed}|{Path(path).name}|{variant}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _work(job: _Job, cache: FeatureCache, transform: Optional[AudioTransform]) -> tuple[Path, str, object]:
    """Worker: load (or compute and store) one clip variant. Errors come back as text."""
    cached = cache.load(job.path, job.variant)
    if cached is not None:
        return job.path, job.variant, cached
    try:
        x = load_audio(job.path, cache.params.sample_rate)
        if transform is not None:
            x = transform(x, np.random.default_rng(job.seed))
        features = compute_features(x, cache.params)
    except SerEdgeError as exc:
        return job.path, job.variant, str(exc)
    cache.store(job.path, job.variant, features)
    return job.path, job.variant, features


_WORKER_STATE: dict = {}


def _init_worker(cache: FeatureCache, transform: Optional[AudioTransform]) -> None:
    _WORKER_STATE["args"] = (cache, transform)


def _work_in_pool(job: _Job) -> tuple[Path, str, object]:
    return _work(job, *_WORKER_STATE["args"])


def extract(
    paths: Sequence[Path],
    cache: FeatureCache,
    *,
    variants: Iterable[str] = ("clean",),
    transform: Optional[AudioTransform] = None,
    seed: int = 0,
    workers: int = 0,
    progress: bool = True,
) -> tuple[dict[tuple[Path, str], ClipFeatures], list[tuple[Path, str]]]:
    """Features of every (path, variant); ``transform`` makes the non-"clean" variants.

    Returns ({(path, variant): features}, [(path, reason) for files that failed]).
    ``workers`` = 0 uses every core. A bad file is reported and skipped, never fatal.
    """
    jobs = [_Job(Path(p), v, _variant_seed(p, v, seed)) for v in variants for p in paths]
    results: dict[tuple[Path, str], ClipFeatures] = {}
    failed: dict[Path, str] = {}
    todo = []
    for job in jobs:  # cache hits are read here; only misses go to the pool
        hit = cache.load(job.path, job.variant)
        if hit is None:
            todo.append(job)
        else:
            results[(job.path, job.variant)] = hit
    log.info("features: %d cached, %d to compute", len(results), len(todo))
    for path, variant, out in _run(todo, cache, transform, workers, progress):
        if isinstance(out, ClipFeatures):
            results[(path, variant)] = out
        else:
            failed.setdefault(path, out)
    return results, sorted(failed.items())


def _run(todo: list[_Job], cache: FeatureCache, transform, workers: int, progress: bool):
    def jobs_for(variant_filter):
        return [j for j in todo if variant_filter(j)]

    if not todo:
        return []
    n = workers or os.cpu_count() or 1
    clean = [j for j in todo if j.variant == "clean" or transform is None]
    augmented = [j for j in todo if not (j.variant == "clean" or transform is None)]
    out = []
    for batch, fn in ((clean, None), (augmented, transform)):
        if not batch:
            continue
        if n == 1:
            it = (_work(j, cache, fn) for j in batch)
            out.extend(_progress(it, len(batch), progress))
            continue
        with ProcessPoolExecutor(n, initializer=_init_worker, initargs=(cache, fn)) as pool:
            out.extend(_progress(pool.map(_work_in_pool, batch, chunksize=8), len(batch), progress))
    return out


def _progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, unit="clip", desc="features", mininterval=1.0)

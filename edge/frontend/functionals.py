"""Per-clip statistics ("functionals") of the device's own frame features: the input of the
reference baseline (`ser_train.fit.functionals`) and of utterance-level decisions, in training
and on the device.

A clip gives one float64 vector: statistics of its MFCC frames over its voiced hops (mean, sd
and sd of the frame-to-frame change of each coefficient: 3 x n_mfcc values) and, when the
features carry prosody (`ser_edge.frontend.prosody`), statistics of pitch, loudness and
spectrum (`PROSODY_NAMES`). Vectors are then normalised per speaker (`speaker_zscore`), as the
network's inputs are: what is left is how a clip differs from its speaker's usual voice.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ser_edge.frontend.normalise import voiced
from ser_edge.frontend.prosody import PROSODY_COLUMNS

#: the prosodic statistics, in vector order; log F0 (natural log of Hz) over voiced frames only
PROSODY_NAMES = (
    "f0_mean", "f0_sd", "f0_p10", "f0_p50", "f0_p90", "f0_range", "f0_slope", "f0_change",
    "energy_mean", "energy_sd", "energy_p10", "energy_p90", "energy_change",
    "voiced_fraction", "energy_peaks_per_s", "centroid_mean", "flatness_mean", "zcr_mean",
)
MIN_FRAMES = 3  # fewer voiced frames than this: statistics over all frames


def mfcc_functionals(frames: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """(3 * n_mfcc,) float64: mean, sd and sd of deltas of (n, n_mfcc) MFCC frames over the voiced
    hops (``speech``: one flag per hop); all frames when fewer than `MIN_FRAMES` are voiced."""
    x = voiced(frames, speech)
    if x.shape[0] < MIN_FRAMES:
        x = frames
    x = x.astype(np.float64)
    if x.shape[0] == 0:
        return np.zeros(3 * frames.shape[1])
    delta = np.diff(x, axis=0) if x.shape[0] > 1 else np.zeros_like(x)
    return np.concatenate([x.mean(axis=0), x.std(axis=0), delta.std(axis=0)])


def prosody_functionals(log_f0: np.ndarray, voiced: np.ndarray, log_energy: np.ndarray,
                        centroid_hz: np.ndarray, flatness: np.ndarray, zcr: np.ndarray, hop_s: float) -> np.ndarray:
    """(len(PROSODY_NAMES),) float64 from per-hop tracks of equal length n: log F0 (used where
    ``voiced`` is true), log energy, spectral centroid (Hz), flatness (0-1) and zero-crossing
    rate; ``hop_s`` the hop, s. A clip without voiced frames has zeros for its pitch statistics."""
    n = len(log_energy)
    voiced_flags = np.asarray(voiced, dtype=bool)[:n]
    f0 = np.asarray(log_f0, dtype=np.float64)[:n][voiced_flags]
    pitch = np.zeros(8)
    if f0.size >= 2:
        p10, p50, p90 = np.percentile(f0, [10, 50, 90])
        t = np.arange(f0.size) * hop_s
        slope = float(np.polyfit(t, f0, 1)[0]) if np.ptp(t) > 0 else 0.0
        pitch = np.array([f0.mean(), f0.std(), p10, p50, p90, p90 - p10, slope, np.abs(np.diff(f0)).mean()])
    e = np.asarray(log_energy, dtype=np.float64)
    if n == 0:
        return np.zeros(len(PROSODY_NAMES))
    e10, e90 = np.percentile(e, [10, 90])
    change = np.abs(np.diff(e)).mean() if n > 1 else 0.0
    loud = [e.mean(), e.std(), e10, e90, change]
    seconds = max(n * hop_s, hop_s)
    rest = [voiced_flags.mean(), _peaks(e) / seconds, np.mean(centroid_hz), np.mean(flatness), np.mean(zcr)]
    return np.concatenate([pitch, loud, rest])


def _peaks(e: np.ndarray, min_rise: float = 1.0) -> int:
    """Peaks of log energy with hysteresis: a rise of ``min_rise`` (natural log units, about
    4.3 dB) from a trough arms a peak, a fall of as much from its top counts it; a rough count
    of syllable nuclei."""
    count, low, high, armed = 0, e[0], e[0], False
    for value in e:
        if not armed:
            low = min(low, value)
            armed, high = value - low >= min_rise, value
        else:
            high = max(high, value)
            if high - value >= min_rise:
                count, low, armed = count + 1, value, False
    return count + int(armed)


def speaker_zscore(vectors: np.ndarray, speakers: Sequence[str], leave_one_out: Sequence[bool],
                   min_sd: float = 1e-3) -> np.ndarray:
    """Each row of ``vectors`` (n, d) minus its speaker's mean over d, divided by its speaker's sd:
    over all of the speaker's rows, or, where ``leave_one_out`` is true (held-out speakers, whose
    clips must not adapt on themselves), over the speaker's other rows. A speaker with one row
    keeps it as it is. float64."""
    x = np.asarray(vectors, dtype=np.float64)
    out = x.copy()
    groups: dict[str, list[int]] = {}
    for i, speaker in enumerate(speakers):
        groups.setdefault(speaker, []).append(i)
    for ids in groups.values():
        block = x[ids]
        n = len(ids)
        s1, s2 = block.sum(axis=0), (block**2).sum(axis=0)
        for k, i in enumerate(ids):
            m = n - 1 if leave_one_out[i] else n
            if m < 2:
                continue
            a, b = (s1 - block[k], s2 - block[k] ** 2) if leave_one_out[i] else (s1, s2)
            mean = a / m
            sd = np.sqrt(np.maximum(b / m - mean**2, 0.0))
            out[i] = (x[i] - mean) / np.maximum(sd, min_sd)
    return out


def clip_vector(frames: np.ndarray, speech: np.ndarray, prosody: Optional[dict[str, np.ndarray]],
                hop_s: float) -> np.ndarray:
    """One clip's functionals: MFCC statistics, then prosodic ones when ``prosody`` (column name of
    `ser_edge.frontend.prosody.PROSODY_COLUMNS` -> per-hop array) is given."""
    parts = [mfcc_functionals(frames, speech)]
    if prosody is not None:
        parts.append(prosody_functionals(prosody["log_f0"], prosody["voiced"], prosody["log_energy"],
                                         prosody["spectral_centroid_hz"], prosody["spectral_flatness"],
                                         prosody["zero_crossing_rate"], hop_s))
    return np.concatenate(parts)


def vector_dims(params) -> int:
    """Length of `segment_vector` for `FeatureParams` ``params``: 3 x n_mfcc, + the prosodic statistics."""
    return 3 * params.n_mfcc + (len(PROSODY_NAMES) if params.prosody else 0)


def speech_span(speech: np.ndarray) -> slice:
    """The hops from the first speech flag to the last one (inclusive); all hops when none is speech."""
    flags = np.flatnonzero(np.asarray(speech, dtype=bool))
    return slice(int(flags[0]), int(flags[-1]) + 1) if flags.size else slice(0, len(speech))


def segment_vector(frames: np.ndarray, speech: np.ndarray, prosody_rows: Optional[np.ndarray], params) -> np.ndarray:
    """The functionals (`vector_dims` (d,) float64) of one utterance: a clip in training, a voiced
    segment on the device, both over the hops of their speech span (`speech_span`), so that the
    silence around a corpus clip counts no more than the gate lets through on the device.

    ``frames`` (n, n_mfcc) raw MFCC, ``speech`` (m,) the gate's flags (m may differ from n by the
    gate's lead), ``prosody_rows`` (n, 7) `ser_edge.frontend.prosody` rows or None."""
    n = min(len(frames), len(speech)) if len(speech) else len(frames)
    span = speech_span(speech[:n]) if len(speech) else slice(0, n)
    tracks = None
    if params.prosody and prosody_rows is not None:
        rows = np.asarray(prosody_rows, dtype=np.float64)[:n][span]
        tracks = dict(zip(PROSODY_COLUMNS, rows.T))
    return clip_vector(frames[:n][span], np.asarray(speech[:n], dtype=bool)[span], tracks, params.hop_ms / 1000.0)

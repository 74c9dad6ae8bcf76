"""`ser-train eval` of a speaker-normalised model: what a device would do, cold and adapted.

Each test clip is normalised with statistics from its speaker's *other* clips (all of them,
emotions outside the label set included, as a device hears everything), at most
``adapt_seconds`` of voiced speech (None = all), starting from the model's population prior;
"cold" is the prior alone (a device's first words). Speakers come from the corpus names
(`Clip.speaker`); a clip without a speaker falls back to statistics from itself, and the
result says how many did. Features come from the device front end through the training
cache, windows from `ser_edge.frontend.windows.clip_windows`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ser_edge.frontend.normalise import Prior
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.windows import clip_windows
from ser_train.data.corpora import Clip
from ser_train.data.labels import LabelSet
from ser_train.features.cache import FeatureCache, extract
from ser_train.features.speakers import held_out_norms, voiced_by_clip
from ser_train.metrics import report

#: (k, window_frames, n_mfcc) float32 windows -> (k, classes) scores
WindowScorer = Callable[[np.ndarray], np.ndarray]


def evaluate_adapted(score: WindowScorer, params: FeatureParams, prior: Prior, clips: Sequence[Clip],
                     label_set: LabelSet, wanted: Sequence[int], *, adapt_seconds: Optional[float],
                     cache_dir: Path, workers: int = 0, progress: bool = False,
                     enrol_per_class: Optional[int] = None) -> dict:
    """Reports for the clips numbered ``wanted`` (all in the label set): {"cold", "adapted", ...}.

    ``clips``: every indexed clip (those of other emotions adapt too); skipped files are listed.
    ``enrol_per_class`` K: also "enrolled", the adapted clips with K of each speaker's clips per
    class enrolled in the personal head (`ser_train.evaluate.enrolled`)."""
    features, failed = extract([c.path for c in clips], FeatureCache(cache_dir, params), workers=workers,
                               progress=progress)
    voiced_frames = voiced_by_clip(clips, features)
    out: dict = {"adapt_seconds": "all" if adapt_seconds is None else adapt_seconds,
                 "skipped": [{"path": str(p), "reason": r.removeprefix(f"{p}: ")} for p, r in failed]}  # path named once
    for i in wanted:  # as the device's classify says it: a clip without one frame has no decision
        feats = features.get((clips[i].path, "clean"))
        if feats is not None and len(feats.frames) == 0:
            out["skipped"].append({"path": str(clips[i].path), "reason": f"{_ms(clips[i].path):.0f} ms of audio is too "
                                   f"short (at least {params.frame_ms:g} ms)"})
    for name, budget in (("cold", 0.0), ("adapted", adapt_seconds)):
        norms, fallback = held_out_norms(clips, voiced_frames, params, prior, budget)
        truth, stacks, numbers = [], [], []
        for i in wanted:
            feats = features.get((clips[i].path, "clean"))
            if feats is None or len(feats.frames) == 0:
                continue
            windows, _ = clip_windows(feats.frames, feats.speech, params, norm=norms[(i, "clean")])
            if len(windows):
                truth.append(label_set.index_of(clips[i].emotion))
                stacks.append(windows)
                numbers.append(i)
        means = np.zeros((0, len(label_set.labels)))
        if stacks:  # one scoring call for every window, then the mean per clip
            scores = np.asarray(score(np.concatenate(stacks)), dtype=np.float64)
            bounds = np.cumsum([0] + [len(w) for w in stacks])
            means = np.array([scores[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
        out[name] = report(np.array(truth, dtype=int), means.argmax(axis=1), label_set.labels)
        out["fallback_clips"] = fallback
        if name == "adapted" and enrol_per_class is not None:
            from ser_train.evaluate.enrolled import enrol_table, enrolled_figures

            table = enrol_table(clips, numbers, means, features, params, label_set)
            out["enrolled"] = enrolled_figures(table, enrol_per_class, label_set.labels)
    speech = [voiced_frames[i].shape[0] * params.hop_ms / 1000.0 for i in voiced_frames]
    out["speech_s_per_clip"] = round(float(np.mean(speech)), 2) if speech else 0.0
    if out["fallback_clips"]:
        out["note"] = (f"{out['fallback_clips']} clip(s) have no speaker: they fall back to per-file statistics "
                       "(from the clip itself)")
    return out


def _ms(path: Path) -> float:
    """Duration of an audio file, ms (0 when it cannot be read)."""
    from ser_edge.audio.read import read_audio

    try:
        samples, rate = read_audio(path)
        return 1000.0 * len(samples) / rate
    except Exception:  # noqa: BLE001 - only for the message about a clip with no frame
        return 0.0


def format_adapted(result: dict) -> str:
    """Two lines of figures, cold and adapted, plus the fallback note."""
    lines = [f"speaker normalisation, adapted from each speaker's other clips "
             f"({result['adapt_seconds']} s of speech; cold = the prior alone):"]
    for name in ("cold", "adapted"):
        m = result[name]
        lines.append(f"  {name:<8} {m['n']} clips: accuracy {m['accuracy']:.3f}  UAR {m['uar']:.3f}  "
                     f"macro-F1 {m['macro_f1']:.3f}")
    if "enrolled" in result:
        from ser_train.evaluate.enrolled import format_enrolled

        lines.append(format_enrolled(result["enrolled"]))
    if result.get("note"):
        lines.append(f"  note: {result['note']}")
    return "\n".join(lines)

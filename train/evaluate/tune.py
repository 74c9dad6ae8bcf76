"""Per-label decision thresholds for a bundle (`ser-convert tune`), from held-out speakers listened to as a device would.

Each held-out speaker's clips (of the bundle's labels) are played, in a shuffled order with
`GAP_S` of near-silence between them, through the real device pipeline (`ser_edge.listen.
pipeline.Pipeline`: voice gate, int8 model, a speaker-normalised model's adapter starting from
its prior). Every classified window's scores and every speech end are recorded once; the
smoother (`ser_edge.listen.smoothing.Smoother`) is then replayed for each candidate setting,
which costs no inference. Noise without speech (white, pink and brown at -40 and -20 dBFS,
`NOISE_S` each) is recorded the same way. A bundle with an utterance head decides utterances
(the listener's default scope for it): every utterance decision is recorded instead, and a
candidate's decisions are those whose top score reaches its label's threshold (the smoothing
settings do not touch them).

Figures, per candidate:
- false events: emotion events of a non-neutral label whose end falls in a neutral clip,
  per minute of neutral clip audio;
- detection: the share of a label's clips with an event of that label ending in them,
  averaged over the non-neutral labels;
- noise events: emotion events of any label per minute of noise.

Every non-neutral label starts at the default 0.5; the threshold of the label raising the most
false events goes up one `GRID` step at a time until all of them together stay within
``max_false_per_min`` (neutral keeps the default). Each smoothing candidate is tuned so; the
one with the best detection whose total stays within the budget wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ser_edge.audio.read import load_audio
from ser_edge.config.settings import SmoothingSettings
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.smoothing import Smoother
from ser_edge.model.classifier import Classifier

GAP_S = 2.0  # between clips: longer than the gate's hangover, so each clip is its own utterance
NOISE_S = 120.0
NOISE_KINDS = (("white", -40.0), ("white", -20.0), ("pink", -40.0), ("pink", -20.0), ("brown", -40.0), ("brown", -20.0))
#: thresholds tried, lowest first, from the default (0.5): tuning only makes a label harder to raise; the
#: fine steps at the top are for utterance decisions, whose fused scores are often near 1
GRID = tuple(round(x, 2) for x in np.arange(SmoothingSettings().threshold, 0.96, 0.05)) + (0.97, 0.98, 0.99)
#: smoothing candidates (average_windows, min_duration_s); hold_s stays the default
SMOOTHING = ((3, 1.0), (4, 1.0), (5, 1.5), (6, 2.0))


@dataclass
class Recording:
    """One stream's classified windows (scores (n, labels) float32, start_s, end_s), its speech-end
    times (s), and the labelled spans it was made of: (label, start_s, end_s)."""

    scores: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    resets: np.ndarray
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    seconds: float = 0.0
    utterances: Optional[list[tuple[np.ndarray, float]]] = None  # (scores, end_s) with an utterance head


def record(classifier: Classifier, samples: np.ndarray, spans: Sequence[tuple[str, float, float]] = ()) -> Recording:
    """Play float32 mono ``samples`` (the model's rate) through a fresh pipeline (its own gate, smoother
    and adapter; the one ``classifier``); keep what the smoother would see."""
    windows: list[tuple[np.ndarray, float, float]] = []
    bundle = classifier.bundle
    head = bundle.utterance is not None
    every = SmoothingSettings(thresholds={label: 0.0 for label in bundle.labels})  # each utterance decision an event
    pipeline = Pipeline(classifier, status_interval_s=0.0, on_window=lambda s, a, b: windows.append((s.copy(), a, b)),
                        smoothing=every, scope="both" if head else "window")
    block = bundle.params.sample_rate // 10
    events = []
    for i in range(0, len(samples), block):
        events += pipeline.push(samples[i:i + block])
    events += pipeline.finish()
    resets = np.array([e.end_s for e in events if e.type == "speech_end"], float)
    n = len(bundle.labels)
    scores = np.array([w[0] for w in windows], np.float32).reshape(-1, n)
    utterances = [(np.array([e.scores[k] for k in bundle.labels]), e.end_s) for e in events
                  if e.type == "emotion" and e.scope == "utterance"] if head else None
    return Recording(scores, np.array([w[1] for w in windows]), np.array([w[2] for w in windows]), resets,
                     list(spans), len(samples) / bundle.params.sample_rate, utterances)


def replay(rec: Recording, labels: Sequence[str], settings: SmoothingSettings) -> list[tuple[str, float]]:
    """(label, end_s) of every decision the smoother makes on ``rec`` with ``settings`` (with an
    utterance head: every utterance decision whose top score reaches its label's threshold)."""
    smoother = Smoother(**settings.smoother_kwargs(labels))
    if rec.utterances is not None:
        top = [(labels[int(np.argmax(s))], float(np.max(s)), end) for s, end in rec.utterances]
        return [(label, end) for label, score, end in top if score >= smoother.thresholds[label]]
    out = []
    r = 0
    for k in range(len(rec.ends)):
        while r < len(rec.resets) and rec.resets[r] <= rec.ends[k]:  # the gate closed before this window ended
            smoother.reset()
            r += 1
        decision = smoother.update(rec.scores[k], float(rec.starts[k]), float(rec.ends[k]))
        if decision is not None:
            out.append((decision.label, decision.end_s))
    return out


def speaker_stream(classifier: Classifier, paths_labels: Sequence[tuple[Path, str]], seed: int = 0) -> Recording:
    """A speaker's clips in a shuffled order, `GAP_S` of -70 dBFS noise between them, recorded."""
    rate = classifier.bundle.params.sample_rate
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths_labels))
    parts, spans, t = [], [], 0.0
    for i in order:
        path, label = paths_labels[i]
        x = load_audio(path, rate).astype(np.float32)
        parts += [x, _floor(int(GAP_S * rate), rng)]
        spans.append((label, t, t + len(x) / rate))
        t += len(x) / rate + GAP_S
    return record(classifier, np.concatenate(parts) if parts else np.zeros(0, np.float32), spans)


def noise_streams(classifier: Classifier, seconds: float = NOISE_S, seed: int = 0) -> list[tuple[str, Recording]]:
    """(name, recording) of each `NOISE_KINDS` entry: coloured noise at a level in dBFS (RMS re full scale)."""
    from ser_train.features.noise import coloured_noise

    rate = classifier.bundle.params.sample_rate
    rng = np.random.default_rng(seed)
    out = []
    for kind, dbfs in NOISE_KINDS:
        x = coloured_noise(kind, int(seconds * rate), rng, rate) * 10 ** (dbfs / 20)  # unit power -> RMS at dbfs
        out.append((f"{kind} {dbfs:.0f} dBFS", record(classifier, np.clip(x, -1, 1).astype(np.float32))))
    return out


def figures(recs: Sequence[Recording], noise: Sequence[Recording], labels: Sequence[str],
            settings: SmoothingSettings) -> dict:
    """False events per neutral minute (total and per label), detection per label, noise events per minute."""
    false = {label: 0 for label in labels if label != "neutral"}
    hits = {label: [0, 0] for label in false}
    neutral_s = 0.0
    for rec in recs:
        decisions = replay(rec, labels, settings)
        for span_label, start, end in rec.spans:
            inside = [label for label, t in decisions if start <= t <= end + GAP_S / 2]  # ends in the clip's span
            if span_label == "neutral":
                neutral_s += end - start
                for label in inside:
                    if label != "neutral":
                        false[label] += 1
            elif span_label in hits:
                hits[span_label][0] += span_label in inside
                hits[span_label][1] += 1
    minutes = max(neutral_s / 60.0, 1e-9)
    noise_events = sum(len(replay(r, labels, settings)) for r in noise)
    noise_min = max(sum(r.seconds for r in noise) / 60.0, 1e-9)
    detection = {k: (h / n if n else None) for k, (h, n) in hits.items()}
    present = [v for v in detection.values() if v is not None]
    return {"false_per_min": sum(false.values()) / minutes, "false_per_min_by_label": {k: v / minutes for k, v in false.items()},
            "detection": detection, "mean_detection": float(np.mean(present)) if present else None,
            "noise_events_per_min": noise_events / noise_min, "neutral_minutes": neutral_s / 60.0}


def tune(recs: Sequence[Recording], noise: Sequence[Recording], labels: Sequence[str], *,
         max_false_per_min: float = 0.5) -> dict:
    """The smoothing and per-label thresholds chosen (module doc), with the default's figures beside them."""
    default = SmoothingSettings()
    candidates = []
    for average, duration in SMOOTHING:
        base = dataclasses.replace(default, average_windows=average, min_duration_s=duration)
        chosen = _raise_offenders(recs, noise, labels, base, max_false_per_min)
        candidates.append((chosen, figures(recs, noise, labels, chosen)))
    within = [c for c in candidates if c[1]["false_per_min"] <= max_false_per_min] or candidates
    best, best_figures = max(within, key=lambda c: (c[1]["mean_detection"] or 0.0, -c[1]["false_per_min"]))
    return {"average_windows": best.average_windows, "min_duration_s": best.min_duration_s, "hold_s": best.hold_s,
            "thresholds": dict(best.thresholds), "tuned": best_figures,
            "default": figures(recs, noise, labels, default),
            "candidates": [{"average_windows": c.average_windows, "min_duration_s": c.min_duration_s,
                            "thresholds": dict(c.thresholds), **f} for c, f in candidates],
            "max_false_per_min": max_false_per_min}


def _raise_offenders(recs, noise, labels, base: SmoothingSettings, budget: float) -> SmoothingSettings:
    """From every non-neutral label at `GRID`'s lowest, raise the threshold of the label with the most
    false events one step at a time until all of them together are within ``budget`` per minute."""
    thresholds = {label: GRID[0] for label in labels if label != "neutral"}
    while True:
        settings = dataclasses.replace(base, thresholds=dict(thresholds))
        f = figures(recs, noise, labels, settings)
        if f["false_per_min"] <= budget:
            return settings
        raisable = [k for k in thresholds if thresholds[k] < GRID[-1]]
        if not raisable:
            return settings
        worst = max(raisable, key=lambda k: f["false_per_min_by_label"][k])
        thresholds[worst] = GRID[GRID.index(thresholds[worst]) + 1]


def _floor(n: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal(n) * 10 ** (-70 / 20)).astype(np.float32)

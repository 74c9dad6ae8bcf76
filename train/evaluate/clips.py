"""`ser-train eval`: clip-level figures for a run folder (Keras) or an int8 bundle (device runtime)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ser_edge.errors import ConfigError, SerEdgeError
from ser_edge.model.bundle import MANIFEST_FILE
from ser_train.data.corpora import Clip, index_folders
from ser_train.data.labels import LABEL_SETS, LabelSet
from ser_train.metrics import report


def label_set_for(labels: Sequence[str]) -> LabelSet:
    """The built-in label set whose labels are exactly the model's, in order."""
    for label_set in LABEL_SETS.values():
        if tuple(label_set.labels) == tuple(labels):
            return label_set
    raise ConfigError(f"model labels {list(labels)} match no label set; known: "
                      + "; ".join(f"{n}: {list(s.labels)}" for n, s in LABEL_SETS.items()))


def _bundle_scorer(model_path: Path) -> tuple[tuple[str, ...], Callable[[Path], np.ndarray]]:
    from ser_edge.listen.recognizer import Recognizer

    recognizer = Recognizer(model_path)

    def score(path: Path) -> np.ndarray:
        result = recognizer.classify_file(path)
        return np.array([result.scores[k] for k in recognizer.labels])

    return recognizer.labels, score


def _run_scorer(model_path: Path) -> tuple[tuple[str, ...], Callable[[Path], np.ndarray]]:
    from ser_edge.audio.read import load_audio
    from ser_edge.frontend.windows import clip_windows
    from ser_train.features.cache import compute_features
    from ser_train.fit.run import load_run

    run = load_run(model_path)
    model = run.load_model()

    def score(path: Path) -> np.ndarray:
        feats = compute_features(load_audio(path, run.params.sample_rate), run.params)
        windows, _ = clip_windows(feats.frames, feats.speech, run.params)
        if len(windows) == 0:
            raise SerEdgeError(f"{path}: too short for a single frame")
        return model.predict(windows, verbose=0).mean(axis=0)

    return run.labels, score


def _adaptive_model(model_path: Path, is_bundle: bool):
    """(params, prior, window scorer, labels) of a speaker_cmvn model, else None."""
    if is_bundle:
        from ser_edge.model.bundle import load_bundle
        from ser_edge.model.classifier import Classifier

        bundle = load_bundle(model_path)
        if not bundle.adaptive:
            return None
        return bundle.params, bundle.prior, Classifier(bundle).scores_many, bundle.labels
    from ser_train.fit.run import load_run

    run = load_run(model_path)
    if run.config.model.channels != "mfcc":
        raise ConfigError(f"{model_path}: its windows carry {run.config.model.channels} channels, which ser-train eval "
                          "does not feed yet; its test figures are in its metrics.json")
    if run.prior is None:
        return None
    model = run.load_model()
    return run.params, run.prior, lambda x: model.predict(x, batch_size=256, verbose=0), run.labels


def evaluate(model_path: Path, data_dirs: Sequence[Path], *, speakers: Sequence[str] = (),
             progress: bool = False, adapt_seconds: float | None = None,
             cache_dir: Path = Path(".cache/features"), enrol_per_class: int | None = None) -> dict:
    """Evaluate on every labelled clip (optionally only some speakers); unusable files are skipped and listed.

    A speaker-normalised model is evaluated cold and adapted (`ser_train.evaluate.adapted`): the
    top-level figures are the adapted ones, "cold" and "adapted" hold both, and with
    ``enrol_per_class`` K "enrolled" the adapted model with K clips per class of each speaker
    enrolled in the personal head (`ser_train.evaluate.enrolled`; speaker-normalised models only)."""
    is_bundle = (Path(model_path) / MANIFEST_FILE).is_file()
    adaptive = _adaptive_model(Path(model_path), is_bundle)
    if adaptive is not None:
        return _evaluate_adaptive(model_path, data_dirs, adaptive, is_bundle, speakers, progress, adapt_seconds, cache_dir,
                                  enrol_per_class)
    if enrol_per_class is not None:
        raise ConfigError(f"{model_path}: --enrol-per-class needs a speaker-normalised model (normalisation "
                          "speaker_cmvn): the personal head scales by the speaker as training did")
    labels, score = (_bundle_scorer if is_bundle else _run_scorer)(Path(model_path))
    label_set = label_set_for(labels)
    index = index_folders(list(data_dirs))
    skipped = [{"path": str(p.path), "reason": p.reason} for p in index.problems]
    clips: list[Clip] = [c for c in index.clips if not speakers or c.speaker in speakers]
    left_out = sum(1 for c in clips if label_set.index_of(c.emotion) is None)
    truth, predicted = [], []
    for clip in _progress(clips, progress):
        label = label_set.index_of(clip.emotion)
        if label is None:
            continue
        try:
            scores = score(clip.path)
        except SerEdgeError as exc:
            skipped.append({"path": str(clip.path), "reason": str(exc).removeprefix(f"{clip.path}: ")})
            continue
        truth.append(label)
        predicted.append(int(np.argmax(scores)))
    result = report(np.array(truth, dtype=int), np.array(predicted, dtype=int), label_set.labels)
    result.update(model=str(model_path), runtime="tflite-int8" if is_bundle else "keras-float",
                  left_out_of_label_set=left_out, skipped=skipped,
                  without_speaker=sum(1 for c in clips if not c.speaker_known))
    return result


def _evaluate_adaptive(model_path, data_dirs, adaptive, is_bundle, speakers, progress, adapt_seconds, cache_dir,
                       enrol_per_class=None) -> dict:
    from ser_train.evaluate.adapted import evaluate_adapted

    params, prior, score, labels = adaptive
    label_set = label_set_for(labels)
    index = index_folders(list(data_dirs))
    clips = [c for c in index.clips if not speakers or c.speaker in speakers]
    wanted = [i for i, c in enumerate(clips) if label_set.index_of(c.emotion) is not None]
    result = evaluate_adapted(score, params, prior, clips, label_set, wanted, adapt_seconds=adapt_seconds,
                              cache_dir=Path(cache_dir), progress=progress, enrol_per_class=enrol_per_class)
    result.update(result["adapted"])
    result.update(model=str(model_path), runtime="tflite-int8" if is_bundle else "keras-float",
                  left_out_of_label_set=len(clips) - len(wanted),
                  skipped=[{"path": str(p.path), "reason": p.reason} for p in index.problems] + result["skipped"])
    return result


def _progress(items, enabled: bool):
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, unit="clip", desc="eval", mininterval=1.0)


def format_report(result: dict) -> str:
    labels, matrix = result["confusion"]["labels"], result["confusion"]["matrix"]
    width = max(len(x) for x in labels) + 1
    lines = [f"{result['model']} ({result['runtime']}) on {result['n']} clips",
             f"accuracy {result['accuracy']:.3f}  UAR {result['uar']:.3f}  macro-F1 {result['macro_f1']:.3f}", "",
             "recall per class: " + ", ".join(f"{k} {v:.2f}" for k, v in result["per_class_recall"].items() if v is not None),
             "", "confusion (rows true, columns predicted):",
             " " * width + " ".join(f"{x[:5]:>5}" for x in labels)]
    lines += [f"{lab:<{width}}" + " ".join(f"{v:>5}" for v in row) for lab, row in zip(labels, matrix)]
    if result.get("without_speaker"):
        lines += ["", f"{result['without_speaker']} clips have no speaker (own data without a speaker column): each "
                      "folder counts as one speaker (ids like name:[folder]); nothing here proves speaker independence"]
    if "cold" in result:
        from ser_train.evaluate.adapted import format_adapted

        lines += ["", format_adapted(result)]
    if result["skipped"]:
        lines += ["", f"skipped {len(result['skipped'])} file(s):"] + [f"  {s['path']}: {s['reason']}" for s in result["skipped"]]
    return "\n".join(lines)

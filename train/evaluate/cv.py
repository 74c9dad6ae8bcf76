"""`ser-train cv`: the training recipe over folds, resumable fold by fold.

    out/
      recipe.json           the TrainConfig every fold uses (its speakers set per fold)
      <fold>/               a run folder per fold (`ser_train.fit.run`), plus
      <fold>/fold.json      how the fold was built and its test figures: written last,
                            so a fold with this file is finished and a rerun skips it
      cv.json, cv.png       every finished fold, mean +- sd per kind, per-fold bars
      confusion-<kind>.png  each fold kind's test confusion, pooled over its folds

Figures per fold (clip level, test speakers): ``uar`` over the label set's classes
the test data has, ``uar4`` over neutral/happy/sad/angry (scores restricted to those
four), ``macro_f1``, ``arousal_bacc`` (binary arousal, high = angry/happy/fearful/
surprised, balanced accuracy), plus per-class recall and the share of predictions
per class, which shows a model that "always says one class".
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import numpy as np

from ser_edge.errors import ConfigError
from ser_train.config import TrainConfig
from ser_train.data.corpora import index_folders
from ser_train.data.folds import FOLD_KINDS, Fold, corpus_folds, corpus_of, speaker_folds
from ser_train.data.labels import get_label_set
from ser_train.data.splits import speaker_ids
from ser_train.fit.prepare import prepare
from ser_train.fit.run import save_run
from ser_train.fit.train import evaluate_windows, train_model
from ser_train.metrics import FOUR_CLASSES, aggregate_clip_scores, arousal_balanced_accuracy, report, restricted_report

FOLD_FILE = "fold.json"
CV_FILE = "cv.json"
PLOT_FILE = "cv.png"
METRICS = ("uar", "uar4", "macro_f1", "arousal_bacc")


def plan(base: TrainConfig, kinds: Sequence[str], *, k: int = 5) -> List[Fold]:
    """The folds of ``kinds`` ("corpus", "speaker") over the speakers of ``base.data_dirs``
    (clips in the label set, ``exclude_speakers`` left out); seeded by ``base.seed``."""
    for kind in kinds:
        if kind not in FOLD_KINDS:
            raise ConfigError(f"fold kind {kind!r} is invalid; allowed: {', '.join(FOLD_KINDS)}")
    label_set = get_label_set(base.label_set)
    excluded = set(speaker_ids(base.exclude_speakers))
    coverage: dict[str, set] = {}
    for clip in index_folders([Path(d) for d in base.data_dirs]).clips:
        label = label_set.label_of(clip.emotion)
        if label is not None and clip.speaker not in excluded:
            coverage.setdefault(clip.speaker, set()).add(label)
    speakers = sorted(coverage)
    folds: List[Fold] = []
    if "corpus" in kinds:
        folds += corpus_folds(speakers, coverage, seed=base.seed)
    if "speaker" in kinds:
        folds += speaker_folds(speakers, k, coverage, seed=base.seed)
    return folds


# settings added after earlier recipe.json files were written, at the value those runs used
ADDED_SINCE = {"label_smoothing": 0.0}


def recipe(base: TrainConfig) -> dict:
    """What must be equal for two folds to belong to one cross-validation."""
    data = base.to_dict()
    for key in ("test_speakers", "validation_speakers", "workers", "cache_dir"):
        data.pop(key, None)
    return data


def fold_metrics(predict: Callable, data, part: str = "test") -> Optional[dict]:
    """The cv figures (module docstring) of ``predict`` on one part of prepared data, also per corpus."""
    windows = data.windows[part]
    if len(windows) == 0:
        return None
    ids, scores = aggregate_clip_scores(predict(windows.x), windows.clip)
    return clip_figures(ids, scores, data)


def clip_figures(ids: np.ndarray, scores: np.ndarray, data) -> dict:
    """The cv figures of clip scores (rows of ``scores`` for clips ``ids`` of ``data.clips``), also per corpus."""
    out = _figures(ids, scores, data.clips, data.label_set.labels, data.label_set)
    corpora = sorted({corpus_of(data.clips[i].speaker) for i in ids})
    if len(corpora) > 1:
        out["by_corpus"] = {}
        for corpus in corpora:
            mine = np.array([corpus_of(data.clips[i].speaker) == corpus for i in ids])
            sub = _figures(ids[mine], scores[mine], data.clips, data.label_set.labels, data.label_set)
            out["by_corpus"][corpus] = {k: sub[k] for k in ("n", *METRICS, "per_class_recall")}
    return out


def _figures(ids: np.ndarray, scores: np.ndarray, clips, labels: Sequence[str], label_set) -> dict:
    truth = np.array([label_set.index_of(clips[i].emotion) for i in ids], dtype=int)
    predicted = scores.argmax(axis=1)
    full = report(truth, predicted, labels)
    share = np.bincount(predicted, minlength=len(labels)) / max(1, len(predicted))
    return {"n": full["n"], "uar": full["uar"], "uar4": restricted_report(truth, scores, list(labels), FOUR_CLASSES)["uar"],
            "macro_f1": full["macro_f1"], "arousal_bacc": arousal_balanced_accuracy(truth, predicted, labels),
            "accuracy": full["accuracy"], "per_class_recall": full["per_class_recall"],
            "predicted_share": {lab: round(float(s), 4) for lab, s in zip(labels, share)},
            "confusion": full["confusion"]}


def run_fold(base: TrainConfig, fold: Fold, fold_dir: Path, *, progress: bool = False) -> dict:
    """Train and test one fold; writes its run folder and, last, ``fold.json``."""
    started = time.time()
    config = dataclasses.replace(base, test_speakers=fold.test, validation_speakers=fold.validation)
    if config.model.kind == "functionals":
        return _baseline_fold(config, fold, fold_dir, started)
    data = prepare(config, progress=progress)
    features_s = time.time() - started
    model, history = train_model(config, data, verbose=2 if progress else 0)  # -v: a line per epoch
    predict = lambda x: model.predict(x, batch_size=256, verbose=0)  # noqa: E731
    if config.model.head != "windows":
        return _head_fold(config, fold, fold_dir, started, model, history, data, features_s)
    test = fold_metrics(predict, data)
    adapted = None
    if config.params.normalisation == "speaker_cmvn" and test is not None:
        from ser_train.evaluate.cv_adapt import adapted_test_figures  # cold, 30 s, all: as a device would adapt

        adapted = adapted_test_figures(predict, config, data, lambda ids, scores: clip_figures(ids, scores, data))
        test = adapted.get("all", test)
    validation = evaluate_windows(predict, data.windows["validation"], data.clips, data.label_set)
    epochs = len(history.get("loss", []))
    metrics = {"validation": validation, "test": test, "epochs_run": epochs,
               "windows": {k: len(v) for k, v in data.windows.items() if k != "train_clean"}}
    save_run(fold_dir, model=model, config=config, data=data, history=history, metrics=metrics)
    extra = {"features_seconds": round(features_s, 1), **({"adapted": adapted} if adapted else {})}
    return _finish(fold, fold_dir, data, metrics, started, extra)


def _head_fold(config: TrainConfig, fold: Fold, fold_dir: Path, started: float, model, history: dict, data,
               features_s: float) -> dict:
    """A fold decided by an utterance head (`ser_train.fit.utterance`): figures per adaptation condition
    of a speaker-normalised recipe ("all" the main ones), else on the test windows."""
    from ser_train.fit.utterance import HEAD_FILE, FusionHead, run_head, save_fusion

    head, embed, stats = run_head(config, model, data)

    def figures(windows) -> Optional[dict]:
        ids, scores = head.scores(embed, windows, stats)
        return clip_figures(ids, scores, data) if len(ids) else None

    adapted = None
    if config.params.normalisation == "speaker_cmvn":
        from ser_train.evaluate.cv_adapt import condition_windows

        adapted = {name: figures(w) for name, w in condition_windows(config, data).items()}
        test = adapted.get("all")
    else:
        test = figures(data.windows["test"])
    validation = figures(data.windows["validation"])
    metrics = {"validation": validation, "test": test, "epochs_run": len(history.get("loss", []))}
    save_run(fold_dir, model=model, config=config, data=data, history=history, metrics=metrics)
    head.model.save(Path(fold_dir) / HEAD_FILE)
    if isinstance(head, FusionHead):
        save_fusion(fold_dir, head, stats, data)
    extra = {"features_seconds": round(features_s, 1), **({"adapted": adapted} if adapted else {})}
    return _finish(fold, fold_dir, data, metrics, started, extra)


def _baseline_fold(config: TrainConfig, fold: Fold, fold_dir: Path, started: float) -> dict:
    """A fold of the functionals baseline: its test speakers normalised by their other clips, as the
    network's "all" condition."""
    from ser_train.fit.functionals import fit_functionals, part_report

    model, data, table = fit_functionals(config)
    rows = table.part(data.clips, data.split, "test")
    test = clip_figures(rows.numbers, model.scores(rows.x), data) if len(rows.y) else None
    metrics = {"validation": part_report(model, table, data, "validation"), "test": test, "epochs_run": 0}
    save_run(fold_dir, model=model, config=config, data=data, history={}, metrics=metrics)
    return _finish(fold, fold_dir, data, metrics, started, {})


def _finish(fold: Fold, fold_dir: Path, data, metrics: dict, started: float, extra: dict) -> dict:
    """The fold's result, written last as ``fold.json``."""
    clips = {part: sum(1 for c in data.clips if data.split.part_of(c) == part) for part in ("train", "validation", "test")}
    result = {**fold.to_dict(), "clips": clips, "epochs": metrics["epochs_run"], "seconds": round(time.time() - started, 1),
              "validation_uar": (metrics["validation"] or {}).get("uar"), "metrics": metrics["test"],
              "skipped": len(data.skipped), **extra}
    _write_json(fold_dir / FOLD_FILE, result)
    return result


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)  # a fold file is whole or absent


def _finished(fold: Fold, fold_dir: Path) -> Optional[dict]:
    """The saved result of a finished fold, checked to be the same fold; None if not finished."""
    path = fold_dir / FOLD_FILE
    if not path.is_file():
        return None
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # unreadable: run the fold again
    planned = fold.to_dict()
    if any(done.get(p, {}).get("speakers") != planned[p]["speakers"] for p in ("train", "validation", "test")):
        raise ConfigError(f"{path}: this fold was built from other speakers than now (did the data change?); "
                          f"use another --out folder or delete {fold_dir}")
    return done


def _check_recipe(base: TrainConfig, out_dir: Path) -> None:
    path = out_dir / "recipe.json"
    wanted = json.loads(json.dumps(recipe(base)))  # as JSON has it: tuples are lists
    if path.is_file():
        saved = {**ADDED_SINCE, **json.loads(path.read_text())}
        if saved != wanted:
            changed = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
            raise ConfigError(f"{out_dir} holds folds of another recipe (differs in: {', '.join(changed)}); "
                              "use another --out folder to compare recipes")
    else:
        _write_json(path, wanted)


def run_cv(base: TrainConfig, folds: Sequence[Fold], out_dir: Path, *,
           echo: Callable[[str], None] = print, progress: bool = False, enrol_per_class: Optional[int] = None) -> dict:
    """Every fold (finished ones are read back, not rerun), then cv.json and cv.png; with
    ``enrol_per_class`` K also each fold's "enrolled" figures (`ser_train.evaluate.cv_enrol`)."""
    from ser_train.evaluate.cv_report import fold_line, plot_folds, summarise

    started = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_recipe(base, out_dir)
    results = []
    for fold in folds:
        done = _finished(fold, out_dir / fold.name)
        if done is None:
            echo(f"{fold.name}: training ({len(fold.train)} train, {len(fold.validation)} validation, "
                 f"{len(fold.test)} test speakers)")
            done = run_fold(base, fold, out_dir / fold.name, progress=progress)
        else:
            done["resumed"] = True
        if enrol_per_class is not None and base.params.normalisation == "speaker_cmvn":
            from ser_train.evaluate.cv_enrol import add_enrolled

            done = add_enrolled(done, fold, out_dir / fold.name, base.data_dirs, enrol_per_class, base.cache_dir)
        results.append(done)
        echo(fold_line(done))
    result = summarise(results)
    if enrol_per_class is not None:
        from ser_train.evaluate.cv_enrol import enrolled_summary

        result["enrolled"] = enrolled_summary(results)
    result.update(date=time.strftime("%Y-%m-%d %H:%M %Z"), wall_seconds=round(time.time() - started, 1),
                  machine=f"{platform.machine()}, {os.cpu_count()} cores", load=_load(), recipe=recipe(base))
    _write_json(out_dir / CV_FILE, result)
    plot_folds(result, out_dir / PLOT_FILE)
    _plot_confusions(result, out_dir)
    return result


def _plot_confusions(result: dict, out_dir: Path) -> None:
    """confusion-<kind>.png: each fold kind's clip confusion, pooled over its folds."""
    from ser_train.fit.plots import plot_confusion

    names = {"corpus": "leave one corpus out", "speaker": "speaker folds"}
    for kind, summary in result["summary"].items():
        if summary["confusion"]["labels"]:
            n = summary["uar"]["n"]
            plot_confusion(summary["confusion"], out_dir / f"confusion-{kind}.png",
                           title=f"{names.get(kind, kind)}: {n} folds pooled, test clips")


def _load() -> Optional[list]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None

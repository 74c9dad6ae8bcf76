"""`ser-train`: data summary, fit a model, evaluate a model. Thin: parse, then call library code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ser_edge.cliutil import ErrorHandlingGroup, setup_logging, verbosity_options
from ser_edge.frontend.params import FeatureParams

DATA_DIRS = click.argument("data_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))


def _speakers(text: str) -> tuple[str, ...]:
    from .splits import speaker_ids

    return tuple(speaker_ids(text.split(","))) if text else ()


@click.group(cls=ErrorHandlingGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Train and evaluate speech emotion models with the device's own front end."""


@main.command()
@DATA_DIRS
@click.option("--labels", "label_set", default="7class", show_default=True, help="Label set: 7class or 4class.")
@click.option("--check-audio", is_flag=True, help="Also decode every file and list those that cannot be read.")
def data(data_dirs: tuple[Path, ...], label_set: str, check_audio: bool) -> None:
    """Count clips by corpus, speaker and label; list unlabelled (and unreadable) files.

    Exits 1 when any file could not be used, after listing them all.
    """
    from .corpora import index_folders
    from .labels import get_label_set
    from .summary import format_summary

    labels = get_label_set(label_set)
    index = index_folders(list(data_dirs))
    click.echo(format_summary(index, labels))
    bad: list[str] = []
    if check_audio:
        from ser_edge.audio.read import load_audio
        from ser_edge.errors import SerEdgeError

        for clip in index.clips:
            try:
                load_audio(clip.path)
            except SerEdgeError as exc:
                bad.append(str(exc))
        click.echo(f"\nunreadable files ({len(bad)}):" if bad else "\nevery file decodes")
        for line in bad:
            click.echo(f"  {line}")
    if index.problems or bad:
        sys.exit(1)  # the listing is complete; the status says not every file is usable


@main.command()
@DATA_DIRS
@click.option("-o", "--out", "run_dir", required=True, type=click.Path(path_type=Path), help="Run folder to write.")
@click.option("--labels", "label_set", default="7class", show_default=True, help="Label set: 7class or 4class.")
@click.option("--test-speakers", default="", help="Held-out speakers, e.g. 17,18,19,20 or ravdess:17 (default: none).")
@click.option("--validation-speakers", default="15,16", show_default=True, help="Speakers for early stopping.")
@click.option("--exclude-speakers", default="", help="Speakers left out altogether, e.g. 01,02 (default: none).")
@click.option("--epochs", default=60, show_default=True, help="Most epochs (early stopping ends sooner).")
@click.option("--patience", default=10, show_default=True, help="Epochs without validation improvement before stopping.")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--learning-rate", default=1e-3, show_default=True)
@click.option("--width", default=48, show_default=True, help="Filters in the first conv block.")
@click.option("--depth", default=3, show_default=True, help="Conv blocks.")
@click.option("--dropout", default=0.3, show_default=True, help="Dropout before the dense layer.")
@click.option("--mixup", default=0.0, show_default=True, help="Mixup Beta alpha (0 = off).")
@click.option("--copies", default=None, type=int, help="Augmented copies per training clip (default from the augment config).")
@click.option("--no-augment", is_flag=True, help="Train on clean clips without SpecAugment masks.")
@click.option("--augment", "augment_file", type=click.Path(path_type=Path, exists=True),
              help="JSON of augmentation settings to override (e.g. {\"pitch_p\": 0}); see train/augment.py.")
@click.option("--seed", default=0, show_default=True)
@click.option("--cache", "cache_dir", default=".cache/features", show_default=True, type=click.Path(path_type=Path))
@click.option("--params", "params_file", type=click.Path(path_type=Path, exists=True), help="JSON of feature parameters to override.")
@click.option("--norm", type=click.Choice(["window", "speaker"]), default=None,
              help="Normalisation: window (per-window CMVN, the default) or speaker (adaptive; docs/ADAPTATION.md).")
@click.option("--budget-min-s", default=3.0, show_default=True, help="speaker: least speech a training speaker's statistics come from, s.")
@click.option("--budget-max-s", default=0.0, show_default=True, help="speaker: most speech, s (0 = all of it).")
@click.option("--budget-draws", default=8, show_default=True, help="speaker: random budgets drawn per training speaker.")
@verbosity_options
def fit(data_dirs, run_dir, label_set, test_speakers, validation_speakers, exclude_speakers, epochs, patience, batch_size,
        learning_rate, width, depth, dropout, mixup, copies, no_augment, augment_file, seed, cache_dir, params_file,
        norm, budget_min_s, budget_max_s, budget_draws, verbose, quiet) -> None:
    """Train a compact Conv1D on DATA_DIRS and write a run folder with metrics and plots."""
    from .augment import AugmentConfig
    from .fit import TrainConfig, fit as run_fit
    from .model import ModelConfig

    setup_logging(verbose + 1, quiet)
    params = FeatureParams()
    if params_file:
        params = FeatureParams.from_dict({**params.to_dict(), **json.loads(params_file.read_text())}, source=str(params_file))
    if norm is not None:
        params = params.replace(normalisation={"window": "window_cmvn", "speaker": "speaker_cmvn"}[norm])
    augment = AugmentConfig.off() if no_augment else AugmentConfig.default()
    if augment_file:
        augment = AugmentConfig.from_dict({**augment.to_dict(), **json.loads(augment_file.read_text())}, source=str(augment_file))
    if copies is not None:
        augment = augment.replace(copies=copies)
    config = TrainConfig(
        data_dirs=tuple(str(d) for d in data_dirs), label_set=label_set, test_speakers=_speakers(test_speakers),
        validation_speakers=_speakers(validation_speakers), exclude_speakers=_speakers(exclude_speakers), epochs=epochs, patience=patience, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, mixup=mixup, cache_dir=str(cache_dir), params=params,
        budget_min_s=budget_min_s, budget_max_s=budget_max_s, budget_draws=budget_draws,
        model=ModelConfig(width=width, depth=depth, dropout=dropout), augment=augment,
    )
    metrics = run_fit(config, run_dir, progress=not quiet, verbose=0 if quiet else 2)
    for part in ("validation", "test"):
        if metrics.get(part):
            m = metrics[part]
            click.echo(f"{part} speakers: {m['n']} clips, accuracy {m['accuracy']:.3f}, UAR {m['uar']:.3f}, macro-F1 {m['macro_f1']:.3f}")
    click.echo(f"run written to {run_dir} ({metrics['epochs_run']} epochs, {metrics['train_seconds']:.0f} s)")


@main.command(name="eval")
@click.argument("model", type=click.Path(path_type=Path, exists=True))
@DATA_DIRS
@click.option("--speakers", default="", help="Only these speakers, e.g. 17,18 or tess:OAF.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--adapt-seconds", type=float, default=None,
              help="Speaker-normalised models: speech each test speaker's statistics come from, s "
                   "(0 = the prior alone, a cold start; default all of the speaker's other clips).")
@click.option("--cache", "cache_dir", default=".cache/features", show_default=True, type=click.Path(path_type=Path),
              help="Feature cache (speaker-normalised models).")
@verbosity_options
def eval_(model: Path, data_dirs, speakers: str, as_json: bool, adapt_seconds, cache_dir, verbose: int, quiet: bool) -> None:
    """Evaluate MODEL (a run folder or an int8 bundle) on labelled folders, clip by clip.

    A speaker-normalised model is evaluated as a device would run it: cold (the prior
    alone) and adapted to each test speaker from that speaker's other clips."""
    from .evaluate import evaluate, format_report

    setup_logging(verbose, quiet)
    if adapt_seconds is not None and adapt_seconds < 0:
        raise click.BadParameter("must be >= 0 seconds", param_hint="--adapt-seconds")
    result = evaluate(model, list(data_dirs), speakers=_speakers(speakers), progress=not (quiet or as_json),
                      adapt_seconds=adapt_seconds, cache_dir=cache_dir)
    if adapt_seconds is not None and "cold" not in result:
        click.echo("note: --adapt-seconds ignored: this model normalises each window on its own", err=True)
    click.echo(json.dumps(result) if as_json else format_report(result))
    if result["skipped"]:
        sys.exit(1)

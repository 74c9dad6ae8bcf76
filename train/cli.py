"""`ser-train`: data summary, fit a model, cross-validate, evaluate a model, tune a bundle's thresholds.
Thin: parse, then call library code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ser_edge.cliutil import ErrorHandlingGroup, setup_logging, verbosity_options
from ser_train.flags import fit_options, speakers, train_config

DATA_DIRS = click.argument("data_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))


_speakers = speakers

ENROL_OPTION = click.option(
    "--enrol-per-class", "enrol_per_class", type=click.IntRange(min=0), default=None, metavar="K",
    help="Speaker-normalised models: also enrol K random clips per class of each test speaker in the device's "
         "personal head (5 seeded draws) and score the speaker's other clips (JSON: \"enrolled\").")


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
    from ser_train.data.corpora import index_folders
    from ser_train.data.labels import get_label_set
    from ser_train.data.summary import format_summary

    labels = get_label_set(label_set)
    index = index_folders(list(data_dirs))
    click.echo(format_summary(index, labels))
    bad: list[str] = []
    if check_audio:
        from ser_edge.audio.read import load_audio
        from ser_edge.errors import SerEdgeError, one_line

        for clip in index.clips:
            try:
                load_audio(clip.path)
            except SerEdgeError as exc:
                bad.append(str(exc))
        click.echo(f"\nunreadable files ({len(bad)}):" if bad else "\nevery file decodes")
        for line in bad:
            click.echo(f"  {one_line(line)}")  # the file's name is shown escaped, as in the summary
    if index.problems or bad:
        sys.exit(1)  # the listing is complete; the status says not every file is usable


@main.command()
@DATA_DIRS
@click.option("-o", "--out", "run_dir", required=True, type=click.Path(path_type=Path), help="Run folder to write.")
@click.option("--test-speakers", default="", help="Held-out speakers, e.g. 17,18,19,20 or ravdess:17 (default: none).")
@click.option("--validation-speakers", default="15,16", show_default=True, help="Speakers for early stopping.")
@fit_options
@verbosity_options
def fit(data_dirs, run_dir, test_speakers, validation_speakers, verbose, quiet, **options) -> None:
    """Train a compact Conv1D on DATA_DIRS and write a run folder with metrics and plots."""
    from ser_train.fit.functionals import fit_baseline
    from ser_train.fit.train import fit as fit_network

    setup_logging(verbose + 1, quiet)
    config = train_config(data_dirs, options, test_speakers=_speakers(test_speakers),
                          validation_speakers=_speakers(validation_speakers))
    trainer = {"conv1d": fit_network, "functionals": fit_baseline}[config.model.kind]
    metrics = trainer(config, run_dir, progress=not quiet, verbose=0 if quiet else 2)
    for part in ("validation", "test"):
        if metrics.get(part):
            m = metrics[part]
            click.echo(f"{part} speakers: {m['n']} clips, accuracy {m['accuracy']:.3f}, UAR {m['uar']:.3f}, macro-F1 {m['macro_f1']:.3f}")
    click.echo(f"run written to {run_dir} ({metrics['epochs_run']} epochs, {metrics['train_seconds']:.0f} s)")


@main.command()
@DATA_DIRS
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the folds' runs and results; rerun with the same command to resume.")
@click.option("--folds", "fold_kind", type=click.Choice(["corpus", "speaker", "both"]), default="corpus", show_default=True,
              help="corpus: leave one corpus out; speaker: k speaker folds over all corpora.")
@click.option("-k", "--k", "k", default=5, show_default=True, help="Number of speaker folds.")
@click.option("--only", default="", help="Run only these folds, e.g. corpus-emovo,speaker-0 (default: all).")
@ENROL_OPTION
@fit_options
@verbosity_options
def cv(data_dirs, out_dir, fold_kind, k, only, enrol_per_class, verbose, quiet, **options) -> None:
    """Cross-validate the fit recipe (every fit option applies to every fold); resumes fold by fold."""
    from ser_edge.errors import ConfigError
    from ser_train.evaluate.cv import plan, run_cv
    from ser_train.evaluate.cv_report import format_table

    setup_logging(verbose, quiet)
    base = train_config(data_dirs, options)
    folds = plan(base, ["corpus", "speaker"] if fold_kind == "both" else [fold_kind], k=k)
    if only:
        wanted = [x.strip() for x in only.split(",") if x.strip()]
        unknown = sorted(set(wanted) - {f.name for f in folds})
        if unknown:
            raise ConfigError(f"--only: no fold {', '.join(unknown)}; folds: {', '.join(f.name for f in folds)}")
        folds = [f for f in folds if f.name in wanted]
    if enrol_per_class is not None and base.params.normalisation != "speaker_cmvn":
        raise ConfigError("--enrol-per-class needs --norm speaker: the personal head scales by the speaker")
    result = run_cv(base, folds, out_dir, echo=click.echo, progress=not quiet and verbose > 0,
                    enrol_per_class=enrol_per_class)
    click.echo("\n" + format_table(result))
    for kind, e in result.get("enrolled", {}).items():
        click.echo(f"{kind} folds, K={e['k']} clips per class enrolled: UAR {e['uar']:.3f} against {e['base_uar']:.3f} "
                   f"without ({e['gain']:+.3f}, mean of {e['n']} folds)")
    click.echo(f"results in {out_dir / 'cv.json'} and {out_dir / 'cv.png'}")


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
@ENROL_OPTION
@verbosity_options
def eval_(model: Path, data_dirs, speakers: str, as_json: bool, adapt_seconds, cache_dir, enrol_per_class, verbose: int,
          quiet: bool) -> None:
    """Evaluate MODEL (a run folder or an int8 bundle) on labelled folders, clip by clip.

    A speaker-normalised model is evaluated as a device would run it: cold (the prior
    alone) and adapted to each test speaker from that speaker's other clips."""
    from ser_train.evaluate.clips import evaluate, format_report

    setup_logging(verbose, quiet)
    if adapt_seconds is not None and adapt_seconds < 0:
        raise click.BadParameter("must be >= 0 seconds", param_hint="--adapt-seconds")
    result = evaluate(model, list(data_dirs), speakers=_speakers(speakers), progress=not (quiet or as_json),
                      adapt_seconds=adapt_seconds, cache_dir=cache_dir, enrol_per_class=enrol_per_class)
    if adapt_seconds is not None and "cold" not in result:
        click.echo("note: --adapt-seconds ignored: this model normalises each window on its own", err=True)
    click.echo(json.dumps(result) if as_json else format_report(result))
    if result["skipped"]:
        sys.exit(1)


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--speakers", required=True, help="Held-out speakers to listen to, e.g. ravdess:15,emovo:m3 (never trained on).")
@click.option("--max-false-per-min", default=0.5, show_default=True,
              help="Non-neutral emotion events allowed per minute of neutral speech, all labels together.")
@click.option("--write", is_flag=True, help="Write the chosen thresholds into BUNDLE's manifest (re-stamped).")
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False), help="Also write the figures here.")
@verbosity_options
def tune(bundle: Path, data_dirs, speakers: str, max_false_per_min: float, write: bool, json_out: Path | None,
         verbose: int, quiet: bool) -> None:
    """Tune BUNDLE's per-label thresholds and report the smoothing on held-out speakers of DATA_DIRS
    listened to through the device pipeline, and on noise without speech (ser_train.evaluate.tune)."""
    from ser_train.evaluate.tune_bundle import format_tuning, tune_bundle

    setup_logging(verbose, quiet)
    result = tune_bundle(bundle, list(data_dirs), speakers, max_false_per_min=max_false_per_min, write=write)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    click.echo(format_tuning(result))

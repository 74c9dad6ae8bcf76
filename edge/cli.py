"""`ser-edge`: the device command line. Thin: parse, validate, call library code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .cliutil import ErrorHandlingGroup, setup_logging, verbosity_options
from .errors import SerEdgeError

MODEL_HELP = "Model bundle folder (default: $SER_EDGE_MODEL or the shipped default)."


@click.group(cls=ErrorHandlingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ser-edge")
def main() -> None:
    """On-device speech emotion recognition."""


@main.command()
@click.argument("bundle", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON.")
def info(bundle: Path | None, as_json: bool) -> None:
    """Show a model bundle's manifest (checked: checksum, tensors, parameters)."""
    from .recognizer import Recognizer

    recognizer = Recognizer(bundle)
    if as_json:
        click.echo(json.dumps(recognizer.bundle.manifest, indent=2))
    else:
        from .info import describe

        click.echo(describe(recognizer.bundle, recognizer.classifier.backend))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-m", "--model", type=click.Path(path_type=Path), help=MODEL_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file on stdout.")
@verbosity_options
def classify(files: tuple[Path, ...], model: Path | None, as_json: bool, verbose: int, quiet: bool) -> None:
    """Classify whole audio files: label and scores per file.

    A file that cannot be read is reported and skipped; the exit status is 1 if any was.
    """
    from .recognizer import Recognizer

    setup_logging(verbose, quiet)
    recognizer = Recognizer(model)
    failures = []
    for path in files:
        try:
            result = recognizer.classify_file(path)
        except SerEdgeError as exc:
            failures.append(str(exc))
            if as_json:
                click.echo(json.dumps({"file": str(path), "error": str(exc)}))
            else:
                click.echo(f"ser-edge classify: skipped {exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps({"file": str(path), **result.to_dict()}))
        else:
            top = sorted(result.scores.items(), key=lambda kv: -kv[1])[:3]
            others = "  ".join(f"{k} {v:.2f}" for k, v in top[1:])
            click.echo(f"{path}\t{result.label}\t{result.confidence:.2f}\t({others})")
    if failures:
        click.echo(f"ser-edge classify: {len(failures)} of {len(files)} file(s) failed:", err=True)
        for line in failures:
            click.echo(f"  {line}", err=True)
        sys.exit(1)

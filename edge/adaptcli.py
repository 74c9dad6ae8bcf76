"""`ser-edge adapt show | reset | learn` (the speaker statistics) and `ser-edge enrol` (labelled clips of
the user's emotions): one family, documented side by side in docs/ADAPTATION.md. Thin: parse, call
`ser_edge.service.adaptcmd` and `ser_edge.service.enrolcmd`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ser_edge.cliutil import MODEL_HELP, ErrorHandlingCommand, ErrorHandlingGroup


@click.group(name="adapt", cls=ErrorHandlingGroup)
def adapt_group() -> None:
    """Speaker statistics of a speaker-normalised model: show, reset, learn (docs/ADAPTATION.md).

    Not to be confused with `ser-edge enrol LABEL FILE...`, which teaches the device what the
    user's emotions sound like from labelled clips; `adapt learn` only learns how the user's voice
    sounds (no labels)."""


def _adapt_options(fn):
    fn = click.option("--json", "as_json", is_flag=True, help="One JSON object.")(fn)
    fn = click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
                      help="Statistics file (default: the config's adaptation_state, else the service's).")(fn)
    fn = click.option("-m", "--model", type=click.Path(path_type=Path), help=MODEL_HELP)(fn)
    return click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="TOML configuration file, for the model and the state file.")(fn)


def _adapt_echo(summary: dict, as_json: bool) -> None:
    click.echo(json.dumps(summary) if as_json else "\n".join(f"{k}: {v}" for k, v in summary.items()))


@adapt_group.command(name="show")
@_adapt_options
def adapt_show(config_path, model, state, as_json) -> None:
    """What the statistics rest on: seconds of speech, since when, from which file."""
    from ser_edge.service import adaptcmd

    recognizer, adapter, store, note = adaptcmd.open_state(config_path, model, state)
    summary = adaptcmd.show(adapter, store, note)
    from ser_edge.service import enrolcmd

    _, enrol_store, enrol_note = enrolcmd.open_enrolment(config_path, model, state, recognizer)
    summary["enrolment"] = enrolcmd.listing(recognizer.enrolment, enrol_store, enrol_note)
    _adapt_echo(summary, as_json)


@adapt_group.command(name="reset")
@_adapt_options
def adapt_reset(config_path, model, state, as_json) -> None:
    """Start again from the model's prior (a running service takes it at its next save or reload)."""
    from ser_edge.service import adaptcmd

    _, adapter, store, _ = adaptcmd.open_state(config_path, model, state)
    _adapt_echo(adaptcmd.reset(adapter, store), as_json)


def _adapt_learn(files, config_path, model, state, as_json, name: str) -> None:
    from ser_edge.service import adaptcmd

    recognizer, adapter, store, _ = adaptcmd.open_state(config_path, model, state)
    summary, failures = adaptcmd.enrol(recognizer, adapter, store, files,
                                       lambda text: click.echo(f"ser-edge adapt {name}: {text}", err=True))
    _adapt_echo(summary, as_json)
    if failures:
        sys.exit(1)


@adapt_group.command(name="learn")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@_adapt_options
def adapt_learn(files, config_path, model, state, as_json) -> None:
    """Learn the user's voice from recordings (their voiced speech, no labels), added to the statistics."""
    _adapt_learn(files, config_path, model, state, as_json, "learn")


@adapt_group.command(name="enrol")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@_adapt_options
def adapt_enrol(files, config_path, model, state, as_json) -> None:
    """Old name of `adapt learn` (kept; for labelled clips of emotions see `ser-edge enrol`)."""
    click.echo("ser-edge adapt enrol: this is `ser-edge adapt learn` (its new name); labelled clips of emotions "
               "are `ser-edge enrol LABEL FILE...`", err=True)
    _adapt_learn(files, config_path, model, state, as_json, "enrol")


@click.command(name="enrol", cls=ErrorHandlingCommand)
@click.argument("args", nargs=-1, metavar="[LABEL FILE...]", type=click.Path(path_type=str, readable=False))
@click.option("--record", is_flag=True, help="Record one clip of LABEL from the microphone ([audio] device): a "
                                             "countdown, a live level, at least 2 s of speech; the clip is kept in "
                                             "the clips folder beside the enrolment.")
@click.option("--seconds", type=click.FloatRange(2.5, 60.0), default=8.0, show_default=True,
              help="--record: the longest recording, s (Ctrl-C stops earlier).")
@click.option("--list", "list_", is_flag=True, help="List what is enrolled: labels, clips, seconds.")
@click.option("--reset", is_flag=True, help="Forget every enrolled clip, or those of LABEL (--reset LABEL).")
@_adapt_options
def enrol_command(args, record, seconds, list_, reset, config_path, model, state, as_json) -> None:
    """Teach the device the user's own emotions: clips of the user speaking, one emotion each.

    `ser-edge enrol happy a.wav b.wav` adds two clips of happy speech (each at least 2 s of speech),
    `ser-edge enrol --record happy` one from the microphone;
    the model's decisions then lean toward the user's own examples (docs/ADAPTATION.md). A bad file
    or label stores nothing. A running listener takes the enrolment at SIGHUP."""
    from ser_edge.service import enrolcmd

    if list_ + reset + record > 1 or (list_ and args) or (reset and len(args) > 1) or (record and len(args) != 1):
        raise click.UsageError("use one of: enrol LABEL FILE..., enrol --record LABEL, enrol --list, "
                               "enrol --reset [LABEL]")
    recognizer, store, note = enrolcmd.open_enrolment(config_path, model, state)
    problems: list = []
    report = lambda text: click.echo(f"ser-edge enrol: {text}", err=True)  # noqa: E731
    if list_:
        summary = enrolcmd.listing(recognizer.enrolment, store, note)
    elif reset:
        summary = enrolcmd.reset(recognizer, store, args[0] if args else None)
    elif record:
        source = enrolcmd.microphone(config_path, recognizer.params.sample_rate)
        summary, problems = enrolcmd.enrol_recorded(recognizer, store, args[0], source, seconds, sys.stderr, report)
    else:
        if len(args) < 2:
            raise click.UsageError("give a LABEL and at least one FILE (or --record LABEL, --list, --reset [LABEL])")
        summary, problems = enrolcmd.enrol(recognizer, store, args[0], [Path(a) for a in args[1:]], report)
    click.echo(json.dumps(summary) if as_json else enrolcmd.format_listing(summary))
    if problems:
        sys.exit(65)  # EX_DATAERR, as an unreadable audio file

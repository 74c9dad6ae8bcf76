"""`ser-edge`: the device command line. Thin: parse, validate, call library code."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ser_edge.adaptcli import adapt_group, enrol_command
from ser_edge.cliutil import MODEL_HELP, ErrorHandlingGroup, setup_logging, verbosity_options
from ser_edge.errors import SerEdgeError, shown

from . import __version__


class MainGroup(ErrorHandlingGroup):
    """The top level. `listen` has an option per configuration key, made from the schema: it is made
    when asked for (`_listen_command`), so that the other commands need not load the configuration
    machinery (schema, settings, TOML loader)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "listen"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and "listen" not in self.commands:  # listen, or a typo: "did you mean"
            self.add_command(_listen_command())
        return super().get_command(ctx, cmd_name)


@click.group(cls=MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ser-edge")
def main() -> None:
    """On-device speech emotion recognition."""


@main.command()
@click.argument("bundle", required=False, type=click.Path(path_type=str))  # a name or a folder
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON.")
@click.option("--list", "list_shipped", is_flag=True, help="List the shipped bundles by name.")
def info(bundle: str | None, as_json: bool, list_shipped: bool) -> None:
    """Show a model bundle's manifest (checked: checksum, tensors, parameters).

    BUNDLE is a shipped bundle's name (default, ...) or a folder; default: the default model.
    """
    from ser_edge.listen.recognizer import Recognizer

    if list_shipped:
        from ser_edge.info import list_bundles

        click.echo(list_bundles())
        return
    recognizer = Recognizer(bundle)
    if as_json:
        click.echo(json.dumps(recognizer.bundle.manifest, indent=2))
    else:
        from ser_edge.info import describe

        click.echo(describe(recognizer.bundle, recognizer.classifier.backend))


@main.command()
# readable=False: an unreadable file is reported by us and the batch goes on
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("-m", "--model", type=click.Path(path_type=str), help=MODEL_HELP)  # str: keeps "./"
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file on stdout.")
@click.option("--shared-stats", is_flag=True,
              help="Speaker-normalised models: one speaker's recordings; the statistics carry over from file "
                   "to file (default: learnt per file from the prior).")
@click.option("--scope", type=click.Choice(["auto", "window", "utterance"]), default="auto", show_default=True,
              help="What a file's decision rests on: its windows' mean, or its utterances (models with an "
                   "utterance head; auto: utterance where the model has one).")
@click.option("--enrolment/--no-enrolment", "use_enrolment", default=True, show_default=True,
              help="Use the user's enrolment (`ser-edge enrol`) stored beside the speaker statistics, when it "
                   "was made with this model.")
@click.option("--state", type=click.Path(path_type=Path), help="The speaker statistics file the enrolment is "
              "beside (default: as `ser-edge enrol`'s).")
@verbosity_options
def classify(files: tuple[Path, ...], model: str | None, as_json: bool, shared_stats: bool, scope: str,
             use_enrolment: bool, state: Path | None, verbose: int, quiet: bool) -> None:
    """Classify whole audio files: label and scores per file (and, with an utterance head, per utterance).

    A file that cannot be read is reported and skipped; the exit status is 1 if any was.
    """
    from ser_edge.listen.recognizer import Recognizer
    from ser_edge.listen.utterances import decision_scopes

    setup_logging(verbose, quiet)
    recognizer = Recognizer(model)
    if use_enrolment:
        from ser_edge.service.enrolstore import listener_enrolment

        enrolment, note = listener_enrolment(str(state or ""), recognizer.labels, recognizer.bundle.sha256)
        if enrolment is not None:
            recognizer.enrolment = enrolment
            logging.getLogger("ser_edge.classify").info("enrolment: %s", note)
    decision_scopes(scope, recognizer.bundle)  # a scope the model cannot do fails once, before any file
    shared = recognizer.new_adapter() if shared_stats else None
    failures = []
    for path in files:
        try:
            result = recognizer.classify_file(path, adapter=shared, scope=scope)
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
            click.echo(f"{shown(path)}\t{result.label}\t{result.confidence:.2f}\t({others}){_affect_text(result)}")
            for u in result.utterances:
                click.echo(f"  {u.start_s:7.2f}-{u.end_s:.2f} s\t{u.label}\t{u.confidence:.2f}")
    if failures:
        click.echo(f"ser-edge classify: {len(failures)} of {len(files)} file(s) failed:", err=True)
        for line in failures:
            click.echo(f"  {line}", err=True)
        sys.exit(1)


def _affect_text(result) -> str:
    """What a classify line ends with: a tab and "arousal +0.45 valence -0.20" ("" without a circumplex)."""
    if result.arousal is None or result.valence is None:
        return ""
    return f"\tarousal {result.arousal:+.2f} valence {result.valence:+.2f}"


@main.command()
@click.option("-m", "--model", type=click.Path(path_type=str), help=MODEL_HELP)  # str: keeps "./"
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              help="Folder of speech clips (default: $SER_EDGE_DATA or ../shared/data); the model's held-out "
                   "RAVDESS speakers are used where present.")
@click.option("--clips", default=40, show_default=True, type=click.IntRange(1, 100000), help="Clips to time.")
@click.option("--realtime-seconds", default=20.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Seconds of real-time streaming to measure CPU over; 0 = skip.")
@click.option("--prosody", is_flag=True,
              help="Also time the prosody tracks per window (log F0, voicing, energy; docs/FEATURES.md), even "
                   "for a model that does not use them.")
@click.option("--json", "as_json", is_flag=True, help="Every figure as one JSON document.")
def bench(model: str | None, data_dir: Path | None, clips: int, realtime_seconds: float, prosody: bool,
          as_json: bool) -> None:
    """Measure speed, memory and size of the device pipeline on real speech.

    Per window: feature, inference (and with --prosody, prosody) ms (p50/p95/p99); the real-time factor of file -> events;
    time from process start to the first decision and peak RSS of `classify` and `listen`; model
    size and multiply-accumulates; CPU while streaming a file at real-time pace.
    """
    from ser_edge.bench.run import format_report, run_bench

    report = run_bench(model, data_dir, clips=clips, realtime_s=realtime_seconds, prosody=prosody,
                       log=lambda text: click.echo(f"ser-edge bench: {text}", err=True))
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


main.add_command(adapt_group)
main.add_command(enrol_command)


# ----- listening ---------------------------------------------------------------------------------


def _listen_command() -> click.Command:
    """`ser-edge listen`, made on first use (see `MainGroup`)."""
    from ser_edge.config.flags import GroupedHelpCommand, overrides_from, schema_options, source_overrides, warn_secret_flags
    from ser_edge.config.settings import SERVICE_CONFIG

    @click.command(cls=GroupedHelpCommand)
    # a folder given as the file is our ConfigError (exit 78), not a click usage error (exit 2)
    @click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
                  help=f"TOML configuration file (the service uses {SERVICE_CONFIG}); flags override it.")
    @click.option("--stdin", "use_stdin", is_flag=True,
                  help="Read raw s16le mono PCM from stdin (rate: --stdin-rate); ends at end of stream.")
    @click.option("--show", is_flag=True,
                  help="Live view on stderr: level meter, speech gate, a bar per class, the decision. "
                       "Events on stdout are off unless stdout is redirected or --stdout is given.")
    @verbosity_options
    @schema_options
    def listen(config_path: Path | None, use_stdin: bool, show: bool, verbose: int, quiet: bool, **options) -> None:
        """Listen to a microphone, stdin or a file and emit events (JSON lines on stdout by default).

        Sources: the microphone (default; --mic DEVICE), --stdin, or --from-wav PATH (as fast as
        possible, or --realtime; exits 0 at the end of the file). SIGTERM/SIGINT stop cleanly
        (exit 0), SIGHUP reloads --config. Configuration or model errors exit 78.
        """
        from ser_edge.config.load import load_settings
        from ser_edge.service.daemon import Listener

        setup_logging(verbose if show else verbose + 1, quiet)  # INFO by default: lifecycle lines for the journal
        overrides = overrides_from(options)
        source_overrides(use_stdin, overrides)
        warn_secret_flags(overrides)
        view = None
        if show:
            from ser_edge.service.show import LiveView

            view = LiveView()
            if ("sinks", "stdout", "enabled") not in overrides and sys.stdout.isatty():
                overrides[("sinks", "stdout", "enabled")] = False  # the view and JSON lines would share the screen
        settings = load_settings(config_path, overrides)
        sys.exit(Listener(settings, config_path=str(config_path) if config_path else None, overrides=overrides,
                          view=view).run())

    return listen


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per device.")
def devices(as_json: bool) -> None:
    """List audio input devices (index, name, channels, default rate) for --mic."""
    from dataclasses import asdict

    from ser_edge.sources import list_input_devices

    found = list_input_devices()
    for d in found:
        if as_json:
            click.echo(json.dumps(asdict(d)))
        else:
            mark = "  (default)" if d.is_default else ""
            click.echo(f"{d.index:>3}  {d.name}  [{d.channels} ch, {d.default_rate:g} Hz, {d.host_api}]{mark}")
    if not found and not as_json:
        click.echo("no audio input devices found", err=True)


@main.group("config")
def config_group() -> None:
    """Check or print listener configuration files."""


@config_group.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def config_check(file: Path) -> None:
    """Validate FILE (keys, values, model, thresholds); print OK and the effective settings.

    Exit status 78 with one line naming the key if it is invalid. Opens no device or connection.
    """
    from ser_edge.config.load import load_settings, render
    from ser_edge.service.checks import check_settings

    settings = load_settings(file)
    classifier = check_settings(settings)
    click.echo(f"OK: {file} (model {classifier.bundle.model_id}, labels {', '.join(classifier.labels)})")
    click.echo(render(settings), nl=False)


@config_group.command("example")
def config_example() -> None:
    """Print every setting with its default and documentation, as TOML."""
    from ser_edge.config.load import render
    from ser_edge.config.settings import Settings

    click.echo(render(Settings(), docs=True), nl=False)

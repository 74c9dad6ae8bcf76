"""`ser-convert`: quantize a run folder to a full-int8 bundle and check it against the float model
(``ser-convert RUN_DIR -o OUT``, the default command, also ``ser-convert quantize``), and render a
bundle's model card (``ser-convert card BUNDLE``). ``ser-convert tune`` is the old spelling of
``ser-train tune`` (threshold tuning reads corpora, so it lives with training)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ser_edge.cliutil import ErrorHandlingGroup, setup_logging, verbosity_options

DEFAULT_COMMAND = "quantize"


#: commands of other packages still reached through ser-convert, by their old names
ALIASES = {"tune": ("ser_train.cli", "tune")}


class _DefaultGroup(ErrorHandlingGroup):
    """A group whose first argument, when it is not a command's name, goes to `DEFAULT_COMMAND`:
    ``ser-convert RUN_DIR -o OUT`` stays what it always was. `ALIASES` are loaded when asked for."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ALIASES and args[0] not in ("-h", "--help"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *ALIASES})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in ALIASES:
            import importlib

            module, attr = ALIASES[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


def _line(name: str, r: dict) -> str:
    return f"  {name:<6} UAR {r['uar']:.3f}  accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  ({r['n']} clips)"


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Quantize trained models for the device, and describe them."""


@main.command(DEFAULT_COMMAND)
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Bundle folder to write.")
@click.option("--id", "model_id", default=None, help="Model id for the manifest.")
@click.option("--calibration", default=2000, show_default=True, help="Clean training windows used to calibrate quantization.")
@verbosity_options
def quantize(run_dir: Path, out_dir: Path, model_id: str | None, calibration: int, verbose: int, quiet: bool) -> None:
    """Convert RUN_DIR (from `ser-train fit`) to OUT/model.tflite + OUT/manifest.json
    (the default command: `ser-convert RUN_DIR -o OUT`).

    Exits non-zero, with a report, if int8 disagrees with float on more than 3 % of
    held-out windows or loses more than 1 point of UAR.
    """
    from .convert import convert_run

    setup_logging(verbose, quiet)
    bundle, parity = convert_run(run_dir, out_dir, model_id=model_id, calibration=calibration, progress=not quiet)
    size = (bundle / "model.tflite").stat().st_size
    click.echo(f"wrote {bundle} ({size / 1024:.1f} KiB int8 model)")
    click.echo(f"parity on {parity.source} speakers {', '.join(parity.speakers)} ({parity.windows} windows):")
    click.echo(_line("float", parity.float_report))
    click.echo(_line("int8", parity.int8_report))
    click.echo(f"  top-1 agreement {100 * parity.agreement:.1f} %, UAR change {-100 * parity.uar_drop:+.1f} points")
    failures = parity.failures()
    if failures:
        for failure in failures:
            click.echo(f"ser-convert: parity failed: {failure}", err=True)
        sys.exit(1)


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--cv", "cvs", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="cv.json of the bundle's recipe from `ser-train cv` (repeat for both fold kinds).")
@click.option("--targets", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="JSON written by benchmarks/targets.py --json.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the card here (image links relative to it) instead of printing it.")
def card(bundle: Path, cvs: tuple[Path, ...], targets: Path | None, out: Path | None) -> None:
    """Print BUNDLE's model card (markdown) from its manifest and its recipe's cross-validation."""
    from .card import render_card

    text = render_card(bundle, [(p, json.loads(p.read_text())) for p in cvs],
                       json.loads(targets.read_text()) if targets else None, card_dir=out.parent if out else None)
    if out:
        out.write_text(text)
    else:
        click.echo(text, nl=False)

"""`ser-convert`: quantize a run folder to a full-int8 bundle and check it against the float model."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ser_edge.cliutil import ErrorHandlingCommand, setup_logging, verbosity_options


def _line(name: str, r: dict) -> str:
    return f"  {name:<6} UAR {r['uar']:.3f}  accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  ({r['n']} clips)"


@click.command(cls=ErrorHandlingCommand)
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Bundle folder to write.")
@click.option("--id", "model_id", default=None, help="Model id for the manifest.")
@click.option("--calibration", default=2000, show_default=True, help="Clean training windows used to calibrate quantization.")
@verbosity_options
def main(run_dir: Path, out_dir: Path, model_id: str | None, calibration: int, verbose: int, quiet: bool) -> None:
    """Convert RUN_DIR (from `ser-train fit`) to OUT/model.tflite + OUT/manifest.json.

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

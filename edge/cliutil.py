"""What every console script shares: one-line errors with meaningful exit codes, logging."""

from __future__ import annotations

import logging
import sys
from typing import Callable

import click

from ser_edge.errors import SerEdgeError, one_line

MODEL_HELP = ("Model bundle: a shipped name (default, ...: see `ser-edge info --list`) or a folder "
              "(default: $SER_EDGE_MODEL or the shipped default).")


def _invoke_reporting_errors(invoke: Callable, ctx: click.Context):
    try:
        return invoke(ctx)
    except SerEdgeError as exc:
        click.echo(f"{ctx.command_path}: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(f"{ctx.command_path}: interrupted", err=True)
        sys.exit(130)


class ErrorHandlingGroup(click.Group):
    """A click group that prints the project's errors as one line (no traceback)."""

    def invoke(self, ctx: click.Context):
        return _invoke_reporting_errors(super().invoke, ctx)


class ErrorHandlingCommand(click.Command):
    """A single click command that prints the project's errors as one line."""

    def invoke(self, ctx: click.Context):
        return _invoke_reporting_errors(super().invoke, ctx)


class OneLineFormatter(logging.Formatter):
    """Each record is one line: control characters in the message (a file name holding a newline)
    are escaped, so nothing can forge a log line (a traceback, if any, follows as usual)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return one_line(super().formatMessage(record))


def setup_logging(verbose: int, quiet: bool = False) -> None:
    """Logs go to stderr (stdout carries results and events), one line per record."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def verbosity_options(func: Callable) -> Callable:
    func = click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")(func)
    return click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")(func)

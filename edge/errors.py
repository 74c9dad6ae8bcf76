"""The small family of errors that ser-edge raises for user-facing problems.

Every message names the file, key or value at fault and says what is allowed, so
that the CLI can print it as one line (no traceback) and exit with a status that
tells a supervisor (systemd) whether retrying makes sense.
"""

from __future__ import annotations

import os


def one_line(text: str) -> str:
    """``text`` with control characters (newline, carriage return, escape, ...) written as in
    Python's repr (``\\n``), so that a message stays one line and cannot forge a log line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown(name: str | os.PathLike) -> str:
    """A file name (or any name) as a message shows it: unchanged when every character is printable,
    else quoted repr-style (``'a\\nb.wav'``), so that a name holding a newline stays on its line."""
    text = os.fspath(name)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return text if text.isprintable() else repr(text)


class SerEdgeError(Exception):
    """Base class: a problem the user can fix, reported as one line (control characters escaped)."""

    #: process exit status the CLI uses for this kind of error
    exit_code = 1

    def __str__(self) -> str:
        return one_line(super().__str__())


class AudioError(SerEdgeError):
    """An audio file or stream cannot be read or is not usable audio."""

    exit_code = 65  # EX_DATAERR


class BundleError(SerEdgeError):
    """A model bundle is missing, corrupt or does not match its manifest."""

    exit_code = 78  # EX_CONFIG: retrying will not help


class ConfigError(SerEdgeError):
    """A configuration file, key or value is invalid."""

    exit_code = 78  # EX_CONFIG: systemd's RestartPreventExitStatus lists it


class DependencyError(SerEdgeError):
    """An optional package needed for the requested feature is not installed."""

    exit_code = 69  # EX_UNAVAILABLE


class SourceError(SerEdgeError):
    """An audio source (microphone, stdin) failed; it may work again later."""

    exit_code = 74  # EX_IOERR

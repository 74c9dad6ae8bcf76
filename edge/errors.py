"""The small family of errors that ser-edge raises for user-facing problems.

Every message names the file, key or value at fault and says what is allowed, so
that the CLI can print it as one line (no traceback) and exit with a status that
tells a supervisor (systemd) whether retrying makes sense.
"""

from __future__ import annotations


class SerEdgeError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    #: process exit status the CLI uses for this kind of error
    exit_code = 1


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

"""What `listen` refuses when it builds its outputs, found by `config check` without leaving anything behind.

`listen` stops with exit status 78 when the command hook's program is not found, when the
JSONL event file cannot be opened for appending, or when the clips folder cannot be made.
`check_outputs` finds the same faults with the same messages, so that `config check` passes
only what `listen` accepts. It writes nothing that stays: a folder or file that does not exist
yet is tried by making a scratch one beside it (in the nearest folder that exists) and removing
it again, which also catches folders that cannot hold new files at all (/proc, read-only mounts).
"""

from __future__ import annotations

import os
from pathlib import Path

from ser_edge.config.settings import Settings
from ser_edge.errors import ConfigError, shown
from ser_edge.smallfile import kind_of

_SCRATCH = ".ser-edge-check-"


def check_outputs(s: Settings) -> None:
    """ConfigError for the first output of ``s`` that `listen` could not set up (see the module doc)."""
    argv = s.sinks.command.argv
    if argv and _which(argv[0]) is None:
        raise ConfigError(f"command hook program {argv[0]!r} not found or not executable")
    if s.sinks.file.path:
        path = Path(s.sinks.file.path).expanduser()
        problem = _append_problem(path)
        if problem:
            raise ConfigError(f"cannot open the event file {shown(path)} for appending: {problem}")
    if s.clips.dir:
        folder = Path(s.clips.dir).expanduser()
        problem = _folder_problem(folder)
        if problem:
            raise ConfigError(f"clips.dir {shown(folder)}: {problem}")


def _append_problem(path: Path) -> str:
    """Why ``path`` cannot be opened for appending (its folders made as needed), or ''."""
    if path.is_dir():
        return "Is a directory"
    if path.exists() and not path.is_file():  # a FIFO would block the open below: refused, as `listen` does
        return f"is {kind_of(path.stat().st_mode)}, not a regular file"
    if path.exists():
        try:
            with open(path, "a", encoding="utf-8"):
                return ""
        except OSError as exc:
            return exc.strerror or str(exc)
    return _creation_problem(path, folder=False)


def _folder_problem(folder: Path) -> str:
    """Why clips cannot be written into ``folder`` (made as needed), or ''."""
    if folder.exists() and not folder.is_dir():
        return "cannot create the folder (Not a directory)"
    if folder.is_dir():
        problem = _creation_problem(folder / "clip", folder=False)
        return f"the folder is not writable ({problem})" if problem else ""
    problem = _creation_problem(folder, folder=True)
    return f"cannot create the folder ({problem})" if problem else ""


def _creation_problem(path: Path, *, folder: bool) -> str:
    """Why ``path`` (missing) could not be created, with its missing parent folders, or ''.
    Tried with a scratch file (or folder) in the nearest existing folder, removed at once."""
    base, missing = path.parent, not path.parent.is_dir()
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        return "Not a directory"
    import tempfile  # here: it imports shutil, random, bz2 and lzma, which a listener otherwise lacks

    try:
        if missing or folder:
            os.rmdir(tempfile.mkdtemp(prefix=_SCRATCH, dir=base))
        else:
            fd, name = tempfile.mkstemp(prefix=_SCRATCH, dir=base)
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def _which(program: str):
    from shutil import which  # here: see `_creation_problem`

    return which(program)

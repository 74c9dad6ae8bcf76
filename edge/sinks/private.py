"""Folders and files only their owner may use, whatever the process's umask.

Used for everything ser-edge writes: the JSONL event file, the spool, saved clips. The modes
are set on purpose (mkdir/open with 0700/0600, then chmod), so a umask of 000 cannot open them
up; folders that already exist are left as they are (the caller decides about those).
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents, each with mode 0700; the folders made.

    OSError as from mkdir (the caller names the setting).
    """
    missing: list[Path] = []
    here = Path(folder)
    while not here.is_dir() and here != here.parent:
        missing.append(here)
        here = here.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not path.is_dir():
                raise
            continue  # made meanwhile by someone else: theirs
        os.chmod(path, DIR_MODE)  # mkdir's mode passes through the umask
    return missing


def open_private(path: Path, flags: int) -> int:
    """os.open(path, flags), creating the file with mode 0600 if it is missing; the descriptor.

    An existing file keeps its mode (the owner may have chosen it).
    """
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags | os.O_CLOEXEC)
    try:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away
    except OSError:
        os.close(fd)
        raise
    return fd

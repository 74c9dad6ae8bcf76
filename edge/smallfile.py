"""Reading a small file that must be a regular one: a manifest, a configuration file, a state file.

A FIFO, a device or a socket at such a path is refused before it is opened (opening a device
may do something: a watchdog arms at open) and again on the open descriptor, which is opened
without blocking (``O_NONBLOCK``: a FIFO without a writer cannot hang the open), so there is no
race between the check and the read. At most ``limit + 1`` bytes are read, so that the caller
tells a file that is too large without reading all of it. The audio path has its own opener
(`ser_edge.audio.opening`), which reads pipes and FIFOs as streams on purpose.
"""

from __future__ import annotations

import errno
import os
import stat


class NotRegularFile(OSError):
    """The path is a FIFO, a device or a socket; ``strerror`` says which ("is a FIFO")."""


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"))


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: "a FIFO", "a character device", ... "a regular file"."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(mode: int, path: str | os.PathLike) -> None:
    """IsADirectoryError for a folder, `NotRegularFile` ("is a FIFO") for anything else but a regular file."""
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", os.fspath(path))
    if not stat.S_ISREG(mode):
        raise NotRegularFile(errno.EINVAL, f"is {kind_of(mode)}", os.fspath(path))


def read_regular(path: str | os.PathLike, limit: int, *, follow: bool = True) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit + 1`` of them.

    ``follow=False`` refuses a symbolic link as the last component (ELOOP). OSError as from
    ``open``/``read`` (FileNotFoundError, PermissionError, ...), IsADirectoryError for a folder,
    `NotRegularFile` for a FIFO, device or socket (checked before and after opening).
    """
    check_regular(os.stat(path, follow_symlinks=follow).st_mode, path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        check_regular(os.fstat(fd).st_mode, path)  # swapped between the two looks: checked on what is open
        parts: list[bytes] = []
        got = 0
        while got <= limit:
            piece = os.read(fd, min(limit + 1 - got, 1 << 20))
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)
    finally:
        os.close(fd)

"""Raw PCM on standard input (or any readable file descriptor) as a source.

Format: signed 16-bit little-endian mono at ``rate`` Hz, as
``arecord -f S16_LE -r 16000 -c 1 -t raw | ser-edge listen --stdin``. Reads wait with
select() for at most a quarter second, so a quiet pipe never blocks the caller.

End of stream: with ``eof="exit"`` (the default) `read` returns None and the listener ends
normally, as a pipe consumer should; with ``eof="reopen"`` the end is a `SourceError`, so
`ResilientSource` keeps trying with back-off (useful for a FIFO whose writer restarts).
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import sys
from typing import Optional

import numpy as np

from ser_edge.errors import ConfigError, SourceError

from .base import EMPTY, MAX_WAIT_S, Block, StreamResampler, pcm16_to_float

log = logging.getLogger(__name__)

EOF_POLICIES = ("exit", "reopen")


class StdinSource:
    """s16le mono from a file descriptor (default: stdin), resampled to ``sample_rate`` Hz."""

    def __init__(self, sample_rate: int, *, rate: int = 16000, block_ms: int = 100,
                 fd: Optional[int] = None, eof: str = "exit", wait_s: float = MAX_WAIT_S) -> None:
        if eof not in EOF_POLICIES:
            raise ValueError(f"eof must be one of {EOF_POLICIES}, got {eof!r}")
        self.sample_rate = int(sample_rate)
        self.rate = int(rate)
        self.fd = 0 if fd is None else fd  # descriptor 0 is stdin, whatever wraps sys.stdin
        self.name = f"stdin ({self.rate} Hz s16le)" if fd is None else f"fd {fd} ({self.rate} Hz s16le)"
        self.eof = eof
        self.wait_s = wait_s
        self._want = max(2, 2 * self.rate * block_ms // 1000)  # bytes per read
        self._carry = b""  # an odd byte left by a short read
        self._resample = StreamResampler(self.rate, self.sample_rate)
        self._ended = False

    def open(self) -> None:
        """ConfigError if the descriptor is closed or not open for reading (``listen --stdin 0<&-``)."""
        check_readable_fd(self.fd, self.name)
        if os.isatty(self.fd):
            log.warning("%s is a terminal: pipe raw audio into it, e.g. arecord -f S16_LE -r %d -c 1 -t raw | "
                        "ser-edge listen --stdin", self.name, self.rate)
        self._carry = b""
        self._ended = False
        self._resample = StreamResampler(self.rate, self.sample_rate)

    def read(self) -> Optional[Block]:
        if self._ended:
            return None
        try:
            ready, _, _ = select.select([self.fd], [], [], self.wait_s)
            if not ready:
                return EMPTY
            data = os.read(self.fd, self._want)
        except (OSError, ValueError) as exc:  # ValueError: the descriptor was closed under us
            raise SourceError(f"{self.name}: read failed ({getattr(exc, 'strerror', None) or exc})") from None
        if not data:
            return self._end()
        data = self._carry + data
        whole = len(data) // 2 * 2
        self._carry = data[whole:]
        return Block(self._resample(pcm16_to_float(data[:whole])))

    def _end(self) -> Optional[Block]:
        if self.eof == "reopen":
            raise SourceError(f"{self.name}: end of stream (waiting for more)")
        self._ended = True
        tail = self._resample(np.zeros(0, np.float32), last=True)
        return Block(tail) if tail.size else None

    def close(self) -> None:
        """Leaves the descriptor open: it belongs to the process, not to this source."""


def check_readable_fd(fd: int, name: str) -> None:
    """ConfigError unless ``fd`` was open for reading when the process started.

    A process started with its stdin closed has ``sys.__stdin__`` None, and the first file it
    opens (the model, say) takes descriptor 0: reading "stdin" would read that file.
    """
    if fd == 0 and sys.__stdin__ is None:
        raise ConfigError(f"{name}: standard input is closed; pipe audio into it "
                          "(arecord -f S16_LE -r 16000 -c 1 -t raw | ser-edge listen --stdin)")
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        raise ConfigError(f"{name}: the descriptor is closed; pipe audio into it") from None
    if flags & os.O_ACCMODE == os.O_WRONLY:
        raise ConfigError(f"{name}: the descriptor is open for writing only, not for reading")

"""JSON-lines sinks: standard output and an append-only file.

One event per line, flushed at once, so that `ser-edge listen | jq` and
`tail -f events.jsonl` see each event as it happens. Nothing but events is
ever written to stdout; logging goes to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import IO, Any, Iterable, Optional, Union

from ser_edge.errors import ConfigError
from ser_edge.events import Event
from ser_edge.smallfile import NotRegularFile, check_regular

from .base import BaseSink
from .private import make_private_dirs, open_private

log = logging.getLogger(__name__)


class StdoutSink(BaseSink):
    """Writes each event as one JSON line to `stream` (default: the current sys.stdout)."""

    def __init__(
        self,
        *,
        stream: Optional[IO[str]] = None,
        event_types: Optional[Iterable[str]] = None,
        name: str = "stdout",
    ) -> None:
        super().__init__(name=name, event_types=event_types)
        self._stream = stream

    def _emit(self, event: Event) -> None:
        # Looked up per call so a redirected sys.stdout (tests, daemons) is honoured.
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(event.to_json() + "\n")
        stream.flush()

    def flush(self) -> bool:
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe must not reach the pipeline
            self.record_failure(exc)
            return False
        return True


class JsonlFileSink(BaseSink):
    """Appends each event as one JSON line to a file, one write per event (no buffer).

    Missing parent folders are created with mode 0700 and a new file with mode 0600, whatever
    the umask (an existing file keeps its mode). The file is opened in append mode only, so a
    restart never truncates earlier events. Only a regular file: a FIFO, device or socket at
    the path is a ConfigError (exit status 78), never a hang. A write cut short (a full disk) is
    cut back off the file (truncated to its length before the write, as the disk spool does): the
    event is counted as failed and the next one starts on a line of its own, never glued to half a line.
    """

    def __init__(
        self,
        *,
        path: Union[str, "os.PathLike[str]"],
        event_types: Optional[Iterable[str]] = None,
        name: str = "file",
    ) -> None:
        super().__init__(name=name, event_types=event_types)
        self.path = Path(path).expanduser()
        self._fd: Optional[int] = self._open(self.path)
        log.info("appending events to %s", self.path)

    @staticmethod
    def _open(path: Path) -> int:
        try:
            if path.exists() and not path.is_dir():  # (a folder: open's own "Is a directory")
                check_regular(path.stat().st_mode, path)  # a FIFO or a device is refused before it is opened
            make_private_dirs(path.parent)
            # O_NONBLOCK: a FIFO put there meanwhile cannot hang the open (regular files ignore the flag)
            fd = open_private(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
            try:
                check_regular(os.fstat(fd).st_mode, path)
            except OSError:
                os.close(fd)
                raise
            return fd
        except NotRegularFile as exc:
            raise ConfigError(f"cannot open the event file {path} for appending: {exc.strerror}, not a regular "
                              "file") from None
        except OSError as exc:
            raise ConfigError(f"cannot open the event file {path} for appending: {exc.strerror or exc}") from exc

    def _emit(self, event: Event) -> None:
        if self._fd is None:
            raise ValueError(f"the event file {self.path} is closed")
        line = (event.to_json() + "\n").encode("utf-8")
        before = os.fstat(self._fd).st_size
        try:
            done = 0
            while done < len(line):  # O_APPEND: each part lands at the end
                done += os.write(self._fd, line[done:])
        except OSError as exc:
            self._cut_back(before, exc)
            raise

    def _cut_back(self, size: int, exc: OSError) -> None:
        """A write cut short: truncate the file to ``size`` bytes (its length before it), so no half line stays."""
        try:
            os.ftruncate(self._fd, size)  # type: ignore[arg-type]
        except OSError as again:
            log.error("cannot cut a short write off %s (%s after %s): the next event may follow half a line",
                      self.path, again.strerror or again, exc.strerror or exc)

    def flush(self) -> bool:
        return True  # every event is written whole (or cut back) when it is emitted

    def close(self, timeout_s: Optional[float] = None) -> None:
        if self.closed:
            return
        super().close()
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                self.record_failure(exc)


def stdout_from_settings(s: Any, ctx: Any) -> Optional[StdoutSink]:
    """The sink [sinks.stdout] asks for, None if off (see `ser_edge.sinks.build`)."""
    return StdoutSink(stream=ctx.stdout, event_types=s.event_types) if s.enabled else None


def file_from_settings(s: Any, ctx: Any) -> Optional[JsonlFileSink]:
    """The sink [sinks.file] asks for, None if off."""
    return JsonlFileSink(path=s.path, event_types=s.event_types) if s.path else None

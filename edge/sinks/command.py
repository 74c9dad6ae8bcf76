"""Command hook sink: runs a program per event with the event JSON on stdin.

The program is started from an argv list, never through a shell, so event content can never
be interpreted as shell syntax. It runs on the sink's worker thread (`BackgroundSink`: a
bounded queue, the oldest dropped when full) with a timeout; the pipeline only enqueues.

Each run gets its own process group. The run is judged by the program's own exit status, not
by when its stderr closes: children it leaves behind (``sleep 30 &``) are ended with the
group (SIGTERM, then SIGKILL after 0.2 s) once it exits or times out. Only the last
`STDERR_KEEP` bytes of its stderr are kept for the log, however much it writes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

from ser_edge.errors import ConfigError

from .background import BackgroundSink, Interrupted

if TYPE_CHECKING:  # imported where a hook runs (with shutil): a listener without one need not load them
    import selectors
    import subprocess

log = logging.getLogger(__name__)

#: the end of a hook's stderr kept for the log, bytes (the rest is read and thrown away)
STDERR_KEEP = 4096
#: how much of it goes into a log line, characters
_STDERR_TAIL = 300
#: how long a hook's leftover children get between SIGTERM and SIGKILL, s
_GRACE_S = 0.2


class CommandSink(BackgroundSink):
    """Run `argv` once per event, writing the event's JSON line to its stdin.

    Parameters (keyword-only; times in seconds):
      argv: program and arguments, e.g. ["/usr/local/bin/on-emotion", "--quiet"].
      timeout_s: the program (and its process group) is killed after this long and the run
        counts as failed.
      env: extra environment variables; the program also gets SER_EDGE_EVENT_TYPE
        and, for emotion events, SER_EDGE_LABEL.
      queue_size, close_timeout_s: as for every background sink (`ser_edge.sinks.background`).
      event_types: e.g. ("emotion",) to run only for emotions (default: all).
    """

    def __init__(self, *, argv: Sequence[str], timeout_s: float = 10.0, env: Optional[Mapping[str, str]] = None,
                 queue_size: int = 20, close_timeout_s: float = 10.0, event_types: Optional[Iterable[str]] = None,
                 name: str = "command") -> None:
        if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
            raise ConfigError(f"command hook needs a non-empty list of strings (no shell), got {argv!r}")
        from shutil import which

        if which(argv[0]) is None:
            raise ConfigError(f"command hook program {argv[0]!r} not found or not executable")
        if timeout_s <= 0:
            raise ConfigError(f"command hook timeout_s must be positive, got {timeout_s}")
        self.argv = list(argv)
        self.timeout_s = timeout_s
        self.env = dict(env or {})
        super().__init__(name=name, queue_size=queue_size, close_timeout_s=close_timeout_s,
                         event_types=event_types)
        self._start_worker()

    def _environment(self, event: Mapping[str, Any]) -> Mapping[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env["SER_EDGE_EVENT_TYPE"] = str(event.get("type"))
        if isinstance(event.get("label"), str):
            env["SER_EDGE_LABEL"] = event["label"]
        return env

    def _deliver_payload(self, payload: str) -> None:
        event = json.loads(payload)
        try:
            status, stderr = run_hook(self.argv, (payload + "\n").encode("utf-8"), self._environment(event),
                                      self.timeout_s, self._stopping)
        except TimeoutError:
            if self._stopping.is_set():
                raise Interrupted(f"{self.argv[0]} killed at close (seq {event.get('seq')})") from None
            raise TimeoutError(f"{self.argv[0]} killed after {self.timeout_s} s (seq {event.get('seq')})") from None
        if status != 0:
            tail = stderr.decode("utf-8", "replace").strip()[-_STDERR_TAIL:]
            raise RuntimeError(f"{self.argv[0]} exited with status {status}: {tail}")


def from_settings(c: Any, ctx: Any) -> Optional[CommandSink]:
    """The sink [sinks.command] asks for (`CommandSinkSettings`), None if off (see `ser_edge.sinks.build`)."""
    if not c.argv:
        return None
    return CommandSink(argv=c.argv, timeout_s=c.timeout_s, close_timeout_s=c.close_timeout_s,
                       event_types=c.event_types)


def run_hook(argv: Sequence[str], data: bytes, env: Mapping[str, str], timeout_s: float,
             stopping: Optional[threading.Event] = None) -> tuple[int, bytes]:
    """Run ``argv`` in a new process group with ``data`` on its stdin and stdout to /dev/null.

    Returns (exit status, the last `STDERR_KEEP` bytes of stderr); a status below 0 is a
    signal. TimeoutError after ``timeout_s`` s or once ``stopping`` is set. Whatever is left of
    the process group afterwards is ended.
    """
    import selectors
    import subprocess

    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(env), start_new_session=True)  # our stdout may be the event stream
    tail = bytearray()
    try:
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as streams:
            _watch(streams, proc, data)
            while proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0 or (stopping is not None and stopping.is_set()):
                    raise TimeoutError(f"{argv[0]} ran longer than {timeout_s} s")
                _pump(streams, tail, min(left, 0.05))
            drain_until = time.monotonic() + 0.05  # what it wrote before it ended; not a child's flood
            while streams.get_map() and time.monotonic() < drain_until and _pump(streams, tail, 0):
                pass
        return proc.returncode, bytes(tail)
    finally:
        _end_group(proc)
        for stream in (proc.stdin, proc.stderr):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass


def _watch(streams: selectors.BaseSelector, proc: subprocess.Popen, data: bytes) -> None:
    import selectors

    for stream in (proc.stdin, proc.stderr):
        os.set_blocking(stream.fileno(), False)  # type: ignore[union-attr]
    streams.register(proc.stderr, selectors.EVENT_READ)  # type: ignore[arg-type]
    if data:
        streams.register(proc.stdin, selectors.EVENT_WRITE, memoryview(data))  # type: ignore[arg-type]
    else:
        proc.stdin.close()  # type: ignore[union-attr]


def _pump(streams: selectors.BaseSelector, tail: bytearray, timeout_s: float) -> bool:
    """Move data for ready streams (stdin written, stderr read into ``tail``); True if any was ready."""
    import selectors

    ready = streams.select(timeout_s)
    for key, _ in ready:
        fd = key.fileobj.fileno()  # type: ignore[union-attr]
        try:
            if key.events & selectors.EVENT_WRITE:
                left = key.data[os.write(fd, key.data):]
                if left:
                    streams.modify(key.fileobj, selectors.EVENT_WRITE, left)
                    continue
                chunk = b""
            else:
                chunk = os.read(fd, 65536)
                tail += chunk
                del tail[:-STDERR_KEEP]
        except BlockingIOError:
            continue
        except OSError:  # BrokenPipeError: it did not read its stdin; fine
            chunk = b""
        if not chunk:
            streams.unregister(key.fileobj)
            if key.events & selectors.EVENT_WRITE:
                key.fileobj.close()  # type: ignore[union-attr]  # end of its input
    return bool(ready)


def _end_group(proc: subprocess.Popen) -> None:
    """Kill the hook if it still runs, and end every process left in its group."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        return
    if not _signal_group(proc.pid, signal.SIGTERM):
        return  # nothing left
    log.debug("command hook %d left processes behind; ending them", proc.pid)
    deadline = time.monotonic() + _GRACE_S
    while time.monotonic() < deadline and _signal_group(proc.pid, 0):
        time.sleep(0.01)
    _signal_group(proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to process group ``pgid``; False if no process is in it any more."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True

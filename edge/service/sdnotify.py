"""systemd service notifications (sd_notify protocol) with the standard library only.

Under systemd with ``Type=notify`` (or ``notify-reload``) the service manager sets
``NOTIFY_SOCKET`` to an AF_UNIX datagram socket: a file path, or ``@name`` for the abstract
namespace. Each message is newline-separated ``KEY=VALUE`` lines. With ``WatchdogSec=`` it also
sets ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``, the process meant to ping).

Everything here is a no-op outside systemd, and a failed send is logged, never raised: a
notification must not take the listener down.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Mapping, Optional

log = logging.getLogger(__name__)


class Notifier:
    """Sends READY/STOPPING/RELOADING/STATUS/WATCHDOG messages to the service manager."""

    def __init__(self, environ: Optional[Mapping[str, str]] = None) -> None:
        """Read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` (from ``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        self.address = _parse_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval_s = _watchdog_interval(env)
        self._failing = False

    @property
    def enabled(self) -> bool:
        """True when there is a service manager to notify."""
        return self.address is not None

    def ready(self, status: Optional[str] = None) -> bool:
        """Start-up (or a reload) is complete: READY=1, with an optional status line."""
        return self.notify("READY=1", *([_status(status)] if status is not None else []))

    def stopping(self) -> bool:
        """The service is shutting down: STOPPING=1."""
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        """A reload (SIGHUP) has begun: RELOADING=1 and MONOTONIC_USEC, as systemd >= 253 wants.

        Send `ready` when the reload is done.
        """
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def status(self, text: str) -> bool:
        """Free-form one-line status shown by ``systemctl status`` (newlines become spaces)."""
        return self.notify(_status(text))

    def watchdog(self) -> bool:
        """Keep-alive ping: WATCHDOG=1. Call every `watchdog_interval_s` seconds."""
        return self.notify("WATCHDOG=1")

    def notify(self, *lines: str) -> bool:
        """Send ``KEY=VALUE`` lines as one datagram; True if sent, False if off or failed."""
        if self.address is None or not lines:
            return False
        import socket  # here: a listener outside systemd need not import it

        data = "\n".join(lines).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(data, self.address)
        except OSError as exc:
            # warn once per run of failures, so a watchdog every few seconds does not flood the journal
            level = logging.DEBUG if self._failing else logging.WARNING
            log.log(level, "systemd notification %r to %r failed: %s", lines[0], self.address, exc)
            self._failing = True
            return False
        self._failing = False
        return True


def _status(text: str) -> str:
    return "STATUS=" + " ".join(str(text).splitlines())


def _parse_address(value: str) -> Optional[str]:
    """The socket address for ``sendto``: a path, or a NUL-prefixed abstract name; None if unset."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    log.warning("NOTIFY_SOCKET=%r is not supported (only a path or @abstract name): notifications off", value)
    return None


def _watchdog_interval(env: Mapping[str, str]) -> Optional[float]:
    """Half of WATCHDOG_USEC, in seconds, if the watchdog is on and meant for this process."""
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    try:
        if pid and int(pid) != os.getpid():
            return None  # set for another process (we were started by it)
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r / WATCHDOG_PID=%r are not integers: watchdog off", usec, pid)
        return None
    return value / 2_000_000.0 if value > 0 else None

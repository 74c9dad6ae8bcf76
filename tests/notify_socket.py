"""A datagram socket standing in for systemd's NOTIFY_SOCKET, shared by the service tests."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path


class NotifySocket:
    """Binds ``path`` and records (monotonic time, message) of every datagram, on a thread."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
            except socket.timeout:
                continue
            except OSError:  # closed while waiting
                return

    def kinds(self) -> list[str]:
        """The first key of each message (READY, STATUS, WATCHDOG, RELOADING, STOPPING...)."""
        return [m.split("\n")[0].split("=")[0] for _, m in self.messages]

    def pings(self) -> list[float]:
        """Times of the WATCHDOG=1 messages."""
        return [t for t, m in self.messages if m == "WATCHDOG=1"]

    def watchdogs_between(self, t0: float, t1: float) -> int:
        return sum(1 for t in self.pings() if t0 <= t < t1)

    def close(self) -> None:
        self._stop = True
        self._thread.join(1)
        self.sock.close()

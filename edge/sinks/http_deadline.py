"""urllib handlers whose connections must finish by a deadline, not only within a timeout per read.

A socket timeout bounds each read: a server that trickles one byte every half second never
trips it, and holds a request for ever. These handlers give each connection a deadline
(``time.monotonic()`` + the request's timeout, s) and arm the socket with the time left
before every send and every read, so connect, the request, the answer's head and the bytes
of its body read all end by then (TimeoutError otherwise). A redirect opens a new connection
with a deadline of its own.

Imported only by a webhook: http.client maps ssl (OpenSSL) on import.
"""

from __future__ import annotations

import functools
import http.client
import io
import time
import urllib.request
from typing import Any


def _left(deadline: float) -> float:
    """Seconds left until ``deadline``; TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the request's deadline passed")
    return left


class _DeadlineIO(io.RawIOBase):
    """The raw reader of a response: each read may only wait for what is left until the deadline."""

    def __init__(self, sock: Any, deadline: float) -> None:
        super().__init__()
        self._sock, self._deadline = sock, deadline
        self._raw = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Any:
        self._sock.settimeout(_left(self._deadline))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What `http.client.HTTPResponse` takes: something with makefile("rb")."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineIO(self._sock, self._deadline))


class _Deadline:
    """Mixin for an http.client connection: connect, sends and the response's reads share one deadline."""

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.deadline = deadline

    def connect(self) -> None:
        self.timeout = _left(self.deadline)
        super().connect()  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self.sock is None and self.auto_open:  # type: ignore[attr-defined]
            self.connect()
        self.sock.settimeout(_left(self.deadline))  # type: ignore[attr-defined]
        super().send(data)  # type: ignore[misc]

    def response_class(self, sock: Any, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        return http.client.HTTPResponse(_DeadlineSocket(sock, self.deadline), *args, **kwargs)


class HTTPConnection(_Deadline, http.client.HTTPConnection):
    pass


class HTTPSConnection(_Deadline, http.client.HTTPSConnection):
    pass


_CONNECTIONS = {http.client.HTTPConnection: HTTPConnection, http.client.HTTPSConnection: HTTPSConnection}


class _Handler:
    """Mixin for urllib's HTTP(S) handlers: each connection gets the deadline now + the request's timeout."""

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + req.timeout
        return super().do_open(functools.partial(_CONNECTIONS[http_class], deadline=deadline),  # type: ignore[misc]
                               req, **kwargs)


class HTTPHandler(_Handler, urllib.request.HTTPHandler):
    pass


class HTTPSHandler(_Handler, urllib.request.HTTPSHandler):
    pass


def deadline_opener() -> urllib.request.OpenerDirector:
    """urllib's usual opener (proxies from the environment, redirects), with deadline connections."""
    return urllib.request.build_opener(HTTPHandler(), HTTPSHandler())

"""HTTP webhook sink: POSTs each event's JSON to a URL, in order, from a spool on a worker thread
(`ser_edge.sinks.background`: bounded; when full the oldest waiting events are dropped, counted).

Uses only urllib. Connection errors, timeouts, HTTP 5xx and 429 are retried with exponential
back-off, ``retries`` times or (-1) until delivered, while later events wait in the spool
(bounded; on disk it survives a restart); other 4xx answers are not retried (the request
itself is wrong). Environment proxy settings (http_proxy, no_proxy) apply as with any urllib
client. ``timeout_s`` is a deadline for the whole request (connect, send, the answer's head and
body: `ser_edge.sinks.http_deadline`), not for each socket read, and at most `MAX_ANSWER_BYTES`
of an answer's body are read: a server that trickles or answers a gigabyte costs neither time
nor memory.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any, Iterable, Mapping, Optional

from ser_edge.errors import ConfigError

from .background import BackgroundSink, Interrupted
from .spool import Spool

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: most bytes of an answer's body read (then the connection is closed: urllib does not reuse it)
MAX_ANSWER_BYTES = 4096


class HttpStatusError(Exception):
    """The server answered with a non-2xx status."""

    def __init__(self, url: str, status: int, retry: bool) -> None:
        super().__init__(f"POST {url} answered HTTP {status}")
        self.status = status
        self.retry = retry


class WebhookSink(BackgroundSink):
    """POST events as `application/json` to `url`.

    Parameters (keyword-only; times in seconds):
      url: http:// or https:// address.
      headers: extra request headers, e.g. {"Authorization": "Bearer ..."}.
      timeout_s: deadline for each request as a whole (connect, send, the answer).
      retries: further attempts after the first for retryable faults; -1 = until delivered.
      backoff_s: delay before the first retry; doubles each time, up to backoff_max_s.
      spool: where events wait (a `DiskSpool` survives restarts); default a `MemorySpool`
        of queue_size events. When full, the oldest waiting events are dropped and counted.
      close_timeout_s: how long close() waits for the spool to drain.
      event_types: event types to send (default: all).
    """

    def __init__(
        self,
        *,
        url: str,
        headers: Optional[Mapping[str, str]] = None,
        timeout_s: float = 5.0,
        retries: int = -1,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        queue_size: int = 100,
        spool: Optional[Spool] = None,
        close_timeout_s: float = 5.0,
        event_types: Optional[Iterable[str]] = None,
        name: str = "webhook",
    ) -> None:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise ConfigError(f"webhook url must start with http:// or https://, got {url!r}")
        if retries < -1 or timeout_s <= 0:
            raise ConfigError(f"webhook needs retries >= -1 and timeout_s > 0, got {retries} and {timeout_s}")
        self.url = url
        self.shown_url = _redacted(url)  # for logs: no user:password
        self.headers = {"Content-Type": "application/json", "User-Agent": "ser-edge"}
        self.headers.update(headers or {})
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        from .http_deadline import deadline_opener  # not at import: a listener without a webhook maps no ssl, OpenSSL

        self._opener = deadline_opener()
        super().__init__(name=name, spool=spool, queue_size=queue_size, close_timeout_s=close_timeout_s,
                         event_types=event_types)
        self._start_worker()

    def _deliver_payload(self, payload: str) -> None:
        from urllib.error import URLError

        body = payload.encode("utf-8")
        delay, attempt = self.backoff_s, 0
        while True:
            try:
                self._post(body)
                return
            except HttpStatusError as exc:
                if not exc.retry or attempt == self.retries:
                    raise
                reason: object = exc
            except (URLError, OSError) as exc:  # refused, reset, DNS, timeout
                if attempt == self.retries:
                    raise
                reason = exc
            self.note_retry(reason)
            log.debug("%s: attempt %d failed (%s); retrying in %.2f s", self.name, attempt + 1, reason, delay)
            if self.stopping(delay):
                raise Interrupted(f"closing after {attempt + 1} attempt(s)")
            delay, attempt = min(delay * 2, self.backoff_max_s), attempt + 1

    def _post(self, body: bytes) -> None:
        from urllib.error import HTTPError
        from urllib.request import Request

        request = Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                response.read(MAX_ANSWER_BYTES)  # the status is the answer; a body is not waited for
        except HTTPError as exc:  # a subclass of URLError: check it first
            exc.close()
            raise HttpStatusError(self.shown_url, exc.code, exc.code in _RETRY_STATUS) from None
        except TimeoutError as exc:  # socket.timeout
            raise TimeoutError(f"POST {self.shown_url} timed out after {self.timeout_s} s") from exc


def enabled(w: Any) -> bool:
    """Whether [sinks.webhook] (`WebhookSinkSettings`) turns the sink on."""
    return bool(w.url)


def from_settings(w: Any, ctx: Any) -> Optional[WebhookSink]:
    """The sink [sinks.webhook] asks for, None if off (see `ser_edge.sinks.build`)."""
    if not enabled(w):
        return None
    return WebhookSink(url=w.url, headers=w.headers, timeout_s=w.timeout_s, retries=w.retries,
                       backoff_max_s=w.backoff_max_s, close_timeout_s=w.close_timeout_s, event_types=w.event_types,
                       spool=ctx.spool)


def _redacted(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))

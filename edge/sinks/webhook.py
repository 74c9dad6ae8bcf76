"""HTTP webhook sink: POSTs each event's JSON to a URL, from a worker thread.

Uses only urllib. Connection errors, timeouts, HTTP 5xx and 429 are retried a
bounded number of times with exponential back-off; other 4xx answers are not
retried (the request itself is wrong). Environment proxy settings
(http_proxy, no_proxy) apply as with any urllib client.
"""

from __future__ import annotations

import logging
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterable, Mapping, Optional

from ..errors import ConfigError
from ..events import Event
from .queued import QueuedSink

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class HttpStatusError(Exception):
    """The server answered with a non-2xx status."""

    def __init__(self, url: str, status: int, retry: bool) -> None:
        super().__init__(f"POST {url} answered HTTP {status}")
        self.status = status
        self.retry = retry


class WebhookSink(QueuedSink):
    """POST events as `application/json` to `url`.

    Parameters (keyword-only; times in seconds):
      url: http:// or https:// address.
      headers: extra request headers, e.g. {"Authorization": "Bearer ..."}.
      timeout_s: per-request timeout (connect and read).
      retries: further attempts after the first for retryable faults.
      backoff_s: delay before the first retry; doubles each time, up to backoff_max_s.
      queue_size: events waiting for delivery; beyond it new events are dropped and counted.
      close_timeout_s: how long close() waits for the queue to drain.
      event_types: event types to send (default: all).
    """

    def __init__(
        self,
        *,
        url: str,
        headers: Optional[Mapping[str, str]] = None,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        queue_size: int = 100,
        close_timeout_s: float = 5.0,
        event_types: Optional[Iterable[str]] = None,
        name: str = "webhook",
    ) -> None:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise ConfigError(f"webhook url must start with http:// or https://, got {url!r}")
        if retries < 0 or timeout_s <= 0:
            raise ConfigError(f"webhook needs retries >= 0 and timeout_s > 0, got {retries} and {timeout_s}")
        self.url = url
        self.shown_url = _redacted(url)  # for logs: no user:password
        self.headers = {"Content-Type": "application/json", "User-Agent": "ser-edge"}
        self.headers.update(headers or {})
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._opener = urllib.request.build_opener()
        super().__init__(name=name, queue_size=queue_size, close_timeout_s=close_timeout_s,
                         event_types=event_types)

    def _deliver(self, event: Event) -> None:
        body = event.to_json().encode("utf-8")
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                self._post(body)
                return
            except HttpStatusError as exc:
                if not exc.retry or attempt == self.retries:
                    raise
                reason: object = exc
            except (urllib.error.URLError, OSError) as exc:  # refused, reset, DNS, timeout
                if attempt == self.retries:
                    raise
                reason = exc
            log.debug("%s: attempt %d for seq %d failed (%s); retrying in %.2f s",
                      self.name, attempt + 1, event.seq, reason, delay)
            if self.stopping(delay):
                raise ConnectionError(f"closing; gave up on seq {event.seq} after {attempt + 1} attempt(s)")
            delay = min(delay * 2, self.backoff_max_s)

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                response.read()  # drain so the connection closes cleanly
        except urllib.error.HTTPError as exc:  # a subclass of URLError: check it first
            exc.close()
            raise HttpStatusError(self.shown_url, exc.code, exc.code in _RETRY_STATUS) from None
        except socket.timeout as exc:
            raise TimeoutError(f"POST {self.shown_url} timed out after {self.timeout_s} s") from exc


def _redacted(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))

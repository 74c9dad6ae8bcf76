"""Real parts for the sink tests: a mosquitto broker, an MQTT subscriber, an HTTP server.

Everything listens on 127.0.0.1 only. The broker is one per session (started
in ~0.1 s); tests keep apart by using a fresh device name, hence fresh topics.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, List, Optional

import pytest

from ser_edge.events import EventFactory

from ...mosquitto import HOST, Broker
from .support import Subscriber


@pytest.fixture
def factory() -> EventFactory:
    """Events from a fixed device and model, one second apart on a fake wall clock."""
    clock = iter(range(1_700_000_000, 1_800_000_000))
    return EventFactory(model_id="crnn-test", model_sha256="0123456789abcdef" * 4,
                        device="test-pi", clock=lambda: float(next(clock)))


@pytest.fixture
def device() -> str:
    """A device name no other test uses, so retained messages do not leak between tests."""
    return f"dev-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real mosquitto on a free loopback port; yields the port."""
    server = Broker(tmp_path_factory.mktemp("mosquitto"))
    yield server.port
    server.stop()


@pytest.fixture
def subscribe(broker: int) -> Iterator[Callable[..., Subscriber]]:
    """subscribe(*topics) -> a connected Subscriber on the session broker."""
    made: List[Subscriber] = []

    def make(*topics: str, port: Optional[int] = None) -> Subscriber:
        sub = Subscriber(port or broker, list(topics))
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()


# --- HTTP ---

class Recorder:
    """What a test HTTP server saw, and the statuses it should answer with."""

    def __init__(self) -> None:
        self.requests: List[dict] = []
        self.statuses: List[int] = []  # answered in turn; 200 once used up
        self.delay_s = 0.0
        self.lock = threading.Lock()

    def bodies(self) -> List[Any]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    """A threaded HTTP server on 127.0.0.1; yields (url, Recorder)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # loopback must not go through a proxy
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            time.sleep(recorder.delay_s)
            with recorder.lock:
                status = recorder.statuses.pop(0) if recorder.statuses else 200
                recorder.requests.append({"body": body, "headers": dict(self.headers), "status": status})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://{HOST}:{server.server_address[1]}/hook", recorder
    server.shutdown()
    server.server_close()

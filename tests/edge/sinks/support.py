"""Helpers for the sink tests: events, a subscriber that records QoS and retain, a TCP gate."""

from __future__ import annotations

import socket
import threading
from typing import Any, List

from ser_edge.events import EmotionEvent, EventFactory

from ...mosquitto import HOST, subscribed_client, wait_until


def emotion(factory: EventFactory, label: str = "happy", start_s: float = 0.0) -> EmotionEvent:
    scores = {"neutral": 0.1, "happy": 0.1, "sad": 0.1, "angry": 0.1}
    scores[label] = 0.7
    return factory.emotion(label=label, confidence=0.7, scores=scores, start_s=start_s, end_s=start_s + 2.0)


class Subscriber:
    """A paho client that records (topic, payload, qos, retain) of what it receives."""

    def __init__(self, port: int, topics: List[str]) -> None:
        self.messages: List[tuple] = []
        self._lock = threading.Lock()
        self.client = subscribed_client(port, topics, self._on_message, timeout_s=5.0)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode(), msg.qos, bool(msg.retain)))

    def on(self, topic: str) -> List[tuple]:
        with self._lock:
            return [m for m in self.messages if m[0] == topic]

    def wait(self, topic: str, count: int = 1, timeout_s: float = 5.0) -> List[tuple]:
        """The messages on `topic` once there are at least `count` (fewer on timeout)."""
        wait_until(lambda: len(self.on(topic)) >= count, timeout_s)
        return self.on(topic)

    def payloads(self, topic: str) -> List[str]:
        return [m[1] for m in self.on(topic)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class TcpGate:
    """A loopback TCP relay to `upstream_port` that can refuse or cut connections.

    A broker outage on demand: while closed, connections are accepted and
    dropped at once; `cut()` also breaks the relayed ones.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.is_open = False
        self._server = socket.create_server((HOST, 0))
        self.port = self._server.getsockname()[1]
        self._conns: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.is_open:
                client.close()
                continue
            upstream = socket.create_connection((HOST, self.upstream_port))
            self._conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.is_open = False
        for sock in self._conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._conns.clear()

    def close(self) -> None:
        self._server.close()
        self.cut()

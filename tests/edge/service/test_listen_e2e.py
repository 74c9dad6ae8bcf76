"""`ser-edge listen` end to end, as a separate process: files, a stdin pipe, signals, real sinks."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from ser_edge.audio.read import load_audio
from ser_edge.events import EmotionEvent, Event, SpeechEndEvent, SpeechStartEvent, StatusEvent, event_from_json

from ...mosquitto import HOST, Broker, wait_until
from ...notify_socket import NotifySocket
from ...wavgen import write_wav
from ..sinks.support import Subscriber

RATE = 16000
CLI = [sys.executable, "-c", "from ser_edge.cli import main; main()"]
ANGRY = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"
NEUTRAL = "ravdess/Actor_01/03-01-01-01-01-01-01.flac"


def env() -> dict:
    # loopback HTTP must not go through a proxy
    return {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}


@pytest.fixture(scope="module")
def mix(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """angry clip, 3 s silence, neutral clip, 3 s white noise at -30 dBFS, as a 16-bit WAV; and the parts' spans (s)."""
    rng = np.random.default_rng(5)
    parts = [("angry", load_audio(data_dir / ANGRY)), ("silence", np.zeros(3 * RATE)),
             ("neutral", load_audio(data_dir / NEUTRAL)), ("noise", rng.standard_normal(3 * RATE) * 10 ** (-30 / 20))]
    spans, t = {}, 0.0
    for name, x in parts:
        spans[name] = (t, t + len(x) / RATE)
        t += len(x) / RATE
    path = write_wav(tmp_path_factory.mktemp("listen") / "mix.wav", np.concatenate([x for _, x in parts]))
    return path, spans


@pytest.fixture(scope="module")
def long_wav(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s of speech and pauses, for the runs paced in real time."""
    clip = load_audio(data_dir / ANGRY)
    x = np.concatenate([clip, np.zeros(RATE)] * 7)[: 30 * RATE]
    return write_wav(tmp_path_factory.mktemp("listen") / "long.wav", x)


def listen(*args: str, stdin: bytes | None = None, timeout: float = 60) -> tuple[int, list[Event], str]:
    done = subprocess.run(CLI + ["listen", *args], input=stdin, capture_output=True, timeout=timeout, env=env())
    stderr = done.stderr.decode("utf-8", "replace")
    events = [event_from_json(line) for line in done.stdout.decode().splitlines()]  # every line must be an event
    return done.returncode, events, stderr


def moment(event: Event) -> float:
    if isinstance(event, SpeechStartEvent):
        return event.start_s
    if isinstance(event, StatusEvent):
        return event.audio_s
    return event.end_s  # type: ignore[attr-defined]


def strip(event: Event) -> dict:
    data = event.to_dict()
    data.pop("time")
    return {k: data[k] for k in ("type", "seq", "audio_s")} if data["type"] == "status" else data


def test_from_wav_gives_json_events_and_none_from_silence_or_noise(mix) -> None:
    path, spans = mix
    code, events, stderr = listen("--from-wav", str(path), "--status-interval", "5")
    assert code == 0, stderr
    emotions = [e for e in events if isinstance(e, EmotionEvent)]
    assert [e.label for e in emotions if e.start_s < spans["angry"][1]][:1] == ["angry"]
    for e in emotions:
        for part in ("silence", "noise"):
            lo, hi = spans[part]
            assert not (lo <= e.start_s and e.end_s <= hi), f"{e.label} {e.start_s}-{e.end_s} lies in the {part}"
    assert [moment(e) for e in events] == sorted(moment(e) for e in events)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    duration = spans["noise"][1]
    assert all(0 <= getattr(e, "start_s", 0) <= moment(e) <= duration + 1e-3 for e in events)
    assert [e.audio_s for e in events if isinstance(e, StatusEvent)] == [5.0, 10.0, round(duration, 3)]
    assert any(isinstance(e, SpeechEndEvent) for e in events)


def test_stdin_pipe_gives_the_same_events_and_ends_at_eof(mix, tmp_path: Path) -> None:
    path, _ = mix  # each run adapts from the prior: its own statistics file
    with wave.open(str(path)) as w:
        pcm = w.readframes(w.getnframes())  # s16le mono 16 kHz, as arecord -t raw sends it
    proc = subprocess.Popen(CLI + ["listen", "--stdin", "-q", "--adaptation-state", str(tmp_path / "piped.json")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env())

    def feed() -> None:
        with proc.stdin:  # type: ignore[union-attr]
            for i in range(0, len(pcm), 3200):  # 100 ms writes, as a live pipe delivers them
                proc.stdin.write(pcm[i: i + 3200])  # type: ignore[union-attr]

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    writer.join(10)
    proc.wait(60)
    assert proc.returncode == 0, err.decode()
    piped = [strip(event_from_json(line)) for line in out.decode().splitlines()]
    code, events, _ = listen("--from-wav", str(path), "--adaptation-state", str(tmp_path / "file.json"))
    assert piped == [strip(e) for e in events] and any(e["type"] == "emotion" for e in piped)


class Running:
    """A listener process whose stdout and stderr lines are collected as they come."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(CLI + ["listen", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env())
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _collect(stream: Any, lines: list) -> None:
        for line in stream:
            lines.append(line)

    def log_has(self, text: str, timeout_s: float = 20.0) -> bool:
        return bool(wait_until(lambda: any(text in line for line in self.err), timeout_s, 0.02))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def running() -> Iterator[Any]:
    made: list[Running] = []

    def start(*args: str) -> Running:
        made.append(Running(*args))
        return made[-1]

    yield start
    for r in made:
        r.stop()


def test_sigterm_exits_0_within_2_s_after_flushing(running, long_wav: Path) -> None:
    r = running("--from-wav", str(long_wav), "--realtime")
    assert r.log_has("listening:"), "".join(r.err)
    assert wait_until(lambda: r.out, 10.0)  # audio is flowing: the first speech_start is out
    started = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    code = r.proc.wait(5)
    elapsed = time.monotonic() - started
    assert code == 0 and elapsed < 2.0, f"exit {code} after {elapsed:.2f} s"
    wait_until(lambda: r.out and '"status"' in r.out[-1], 2.0)
    events = [event_from_json(line) for line in r.out]
    assert isinstance(events[-1], StatusEvent) and 0 < events[-1].audio_s < 30  # the final status went out


def test_sighup_reloads_a_changed_config_and_refuses_a_broken_one(running, long_wav: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("status_interval_s = 1\n[smoothing]\nhold_s = 3\n")
    r = running("--config", str(config), "--from-wav", str(long_wav), "--realtime")
    assert r.log_has("listening:"), "".join(r.err)
    config.write_text("status_interval_s = 1\n[smoothing]\nhold_s = 5\n")
    r.proc.send_signal(signal.SIGHUP)
    assert r.log_has("configuration reloaded from"), "".join(r.err)
    assert r.log_has("changed: smoothing") and r.proc.poll() is None
    config.write_text("status_interval_s = 1\n[smoothing]\nhold_s = -1\n")
    r.proc.send_signal(signal.SIGHUP)
    assert r.log_has("reload failed, keeping the running configuration"), "".join(r.err)
    assert r.log_has("smoothing.hold_s = -1") and r.proc.poll() is None
    seen = len(r.out)
    assert wait_until(lambda: len(r.out) > seen, 5.0)  # still listening and emitting
    r.proc.send_signal(signal.SIGTERM)
    assert r.proc.wait(5) == 0
    time.sleep(0.1)
    events = [event_from_json(line) for line in r.out]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no event lost across the reload


def test_sighup_takes_a_new_enrolment(running, long_wav: Path, data_dir: Path, tmp_path: Path) -> None:
    from ser_edge.listen.recognizer import Recognizer
    from ser_edge.service.enrolstore import EnrolStore, enrolment_path

    state = tmp_path / "state" / "adaptation.json"
    r = running("--from-wav", str(long_wav), "--realtime", "--adaptation-state", str(state))
    assert r.log_has("enrolment: nothing enrolled (personal head off)"), "".join(r.err)
    recognizer = Recognizer()
    for name, label in (("neu", "neutral"), ("gio", "happy"), ("tri", "sad"), ("rab", "angry")):
        recognizer.enrol(label, load_audio(data_dir / "emovo" / "f3" / f"{name}-f3-l1.flac"))
    EnrolStore(enrolment_path(state)).save(recognizer.enrolment)  # as `ser-edge enrol` does
    r.proc.send_signal(signal.SIGHUP)
    assert r.log_has("enrolment: 4 clip(s) from"), "".join(r.err)
    assert r.log_has("(personal head on)")  # the default model decides utterances: the head moves them
    assert r.log_has("configuration reloaded from")
    enrolment_path(state).unlink()
    os.mkfifo(enrolment_path(state))  # unusable: logged, the enrolment in use kept
    r.proc.send_signal(signal.SIGHUP)
    assert r.log_has("keeping the one in use"), "".join(r.err)
    assert r.proc.poll() is None
    r.proc.send_signal(signal.SIGTERM)
    assert r.proc.wait(5) == 0


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def test_systemd_ready_reload_stopping_and_watchdog_only_while_audio_flows(notify: NotifySocket, mix) -> None:
    with wave.open(str(mix[0])) as w:
        pcm = w.readframes(RATE)  # one second
    environ = {**env(), "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"}  # ping every 0.1 s
    proc = subprocess.Popen(CLI + ["listen", "--stdin", "--stall-timeout-s", "0.5", "-q"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environ)
    try:
        assert wait_until(lambda: "READY" in notify.kinds(), 20.0), proc.stderr
        flowing_from = time.monotonic()
        for i in range(0, len(pcm), 3200):  # one second of audio, written in real time
            proc.stdin.write(pcm[i: i + 3200])  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            time.sleep(0.1)
        stalled_from = time.monotonic() + 0.6  # the pipe stays open but silent: a stalled source
        time.sleep(1.6)
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: notify.kinds().count("READY") == 2, 5.0)
        proc.stdin.close()  # type: ignore[union-attr]
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.2)
    kinds = notify.kinds()
    assert kinds.index("READY") < kinds.index("WATCHDOG") and "WATCHDOG" not in kinds[kinds.index("STOPPING"):]
    assert kinds.index("RELOADING") < len(kinds) - 1 - kinds[::-1].index("READY")
    assert notify.watchdogs_between(flowing_from, flowing_from + 1.0) >= 5
    assert notify.watchdogs_between(stalled_from, stalled_from + 1.0) == 0
    assert any("STATUS=listening: stdin" in m for _, m in notify.messages)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt not installed (pip install 'ser-edge[mqtt]')")
    server = Broker(tmp_path_factory.mktemp("mosquitto"))
    yield server.port
    server.stop()


def test_mqtt_from_flags_discovery_events_and_offline_at_exit(mix, broker: int) -> None:
    device = f"e2e-{uuid.uuid4().hex[:8]}"
    live = Subscriber(broker, [f"ser-edge/{device}/#"])
    try:
        code, stdout_events, stderr = listen("--from-wav", str(mix[0]), "--no-stdout", "--device-name", device,
                                             "--mqtt-host", HOST, "--mqtt-port", str(broker))
        assert code == 0 and stdout_events == [], stderr
        events = [event_from_json(m[1]) for m in live.wait(f"ser-edge/{device}/event", 5)]
        assert any(isinstance(e, EmotionEvent) for e in events) and events[-1].type == "status"
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert wait_until(lambda: live.payloads(f"ser-edge/{device}/availability")[-1:] == ["offline"], 5.0)
    finally:
        live.close()
    later = Subscriber(broker, [f"homeassistant/sensor/{device}/emotion/config", f"ser-edge/{device}/availability",
                                f"ser-edge/{device}/state"])
    try:  # what a Home Assistant starting now would see: all retained
        (config,) = later.wait(f"homeassistant/sensor/{device}/emotion/config")
        assert config[3] and json.loads(config[1])["state_topic"] == f"ser-edge/{device}/state"
        assert later.wait(f"ser-edge/{device}/availability")[0][1:4:2] == ("offline", True)
        assert json.loads(later.wait(f"ser-edge/{device}/state")[0][1])["label"] in ("angry", "neutral")
    finally:
        later.close()


@pytest.fixture
def http_server() -> Iterator[tuple[str, list]]:
    bodies: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://{HOST}:{server.server_address[1]}/hook", bodies
    server.shutdown()
    server.server_close()


def test_webhook_jsonl_and_command_sinks_from_a_config_file(mix, http_server, tmp_path: Path) -> None:
    url, bodies = http_server
    jsonl, hook_out = tmp_path / "events" / "events.jsonl", tmp_path / "hook.jsonl"
    config = tmp_path / "config.toml"
    config.write_text(f'[sinks.webhook]\nurl = "{url}"\nevent_types = ["emotion", "speech_end"]\n'
                      f'[sinks.file]\npath = "{jsonl}"\n'
                      f'[sinks.command]\nargv = ["tee", "-a", "{hook_out}"]\n')
    code, events, stderr = listen("--config", str(config), "--from-wav", str(mix[0]), "--log-events")
    assert code == 0, stderr
    emotion = next(e for e in events if e.type == "emotion")
    assert f"event #{emotion.seq}: emotion {emotion.label}" in stderr  # the log sink: readable, on stderr
    assert [json.loads(line) for line in jsonl.read_text().splitlines()] == [e.to_dict() for e in events]
    wanted = [e.to_dict() for e in events if e.type in ("emotion", "speech_end")]
    assert [json.loads(b) for b in bodies] == wanted and wanted
    hooked = [json.loads(line) for line in hook_out.read_text().splitlines()]
    assert hooked == [e.to_dict() for e in events if e.type == "emotion"]


def test_save_clips_writes_private_wavs_of_the_emotion_spans(mix, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    code, events, stderr = listen("--from-wav", str(mix[0]), "--save-clips", str(clips))
    assert code == 0, stderr
    emotions = [e for e in events if isinstance(e, EmotionEvent)]
    files = sorted(clips.glob("*.wav"))
    assert len(files) == len(emotions) > 0
    for path, event in zip(files, emotions):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and f"-{event.seq:06d}-{event.label}" in path.name
        with wave.open(str(path)) as w:
            assert (w.getsampwidth(), w.getnchannels(), w.getframerate()) == (2, 1, RATE)
            assert abs(w.getnframes() / RATE - (event.end_s - event.start_s)) < 0.01
    assert stat.S_IMODE(clips.stat().st_mode) == 0o700
    code, _, _ = listen("--from-wav", str(mix[0]), "--save-clips", str(tmp_path / "none"), "--save-clips-below", "0.1")
    assert code == 0 and list((tmp_path / "none").glob("*.wav")) == []


def test_show_draws_a_live_view_on_stderr(mix) -> None:
    code, events, stderr = listen("--from-wav", str(mix[0]), "--show")
    assert code == 0 and events  # stdout is a pipe here, so events still go there
    assert "dBFS" in stderr and "gate" in stderr and "decision" in stderr


def test_errors_exit_with_their_status_and_one_line(mix, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[gate]\nmargin_db = 100\n")
    cases = [(["--config", str(bad)], 78, "gate.margin_db = 100"),
             (["--model", str(tmp_path / "no-model"), "--from-wav", str(mix[0])], 78, "no model bundle"),
             (["--from-wav", str(tmp_path / "missing.wav")], 65, "no such file"),
             (["--stdin", "--from-wav", str(mix[0])], 2, "choose one source")]
    for args, status, text in cases:
        code, events, stderr = listen(*args)
        assert (code, events) == (status, []) and text in stderr, (args, stderr)
        assert "Traceback" not in stderr


def test_live_view_redraws_in_place_on_a_terminal(mix) -> None:
    import io

    from ser_edge import api
    from ser_edge.listen.pipeline import Pipeline
    from ser_edge.service.show import LiveView, bar

    screen = io.StringIO()
    clock = iter(range(1000))
    view = LiveView(stream=screen, ansi=True, clock=lambda: float(next(clock)))
    pipeline = Pipeline()
    x = api.as_source(str(mix[0]), RATE)
    x.open()
    while (block := x.read()) is not None:
        for event in pipeline.push(block.samples):
            view.on_event(event)
        view.update(pipeline)
    drawn, lines = screen.getvalue().count("level  "), len(pipeline.labels) + 3
    assert drawn > 10 and screen.getvalue().count(f"\x1b[{lines}F") == drawn - 1  # each frame overwrites the last
    assert "DECISION" not in screen.getvalue() and "decision  ANGRY" in screen.getvalue()
    assert "SPEECH" in screen.getvalue() and "dBFS" in screen.getvalue()
    assert bar(0.5, 10) == "█████     " and bar(1.0, 4) == "████" and bar(-1, 3) == "   "

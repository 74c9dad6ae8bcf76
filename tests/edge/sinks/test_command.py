"""Command hook sink with real programs (the running Python)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from ser_edge.errors import ConfigError
from ser_edge.events import EventFactory, event_from_json
from ser_edge.sinks import CommandSink

from ...mosquitto import wait_until
from .support import emotion

APPEND_STDIN = (
    "import os, sys\n"
    "data = sys.stdin.read()\n"
    "with open(sys.argv[1], 'a') as f:\n"
    "    f.write(os.environ['SER_EDGE_EVENT_TYPE'] + ' ' + os.environ.get('SER_EDGE_LABEL', '-') + ' ' + data)\n"
)


def test_program_gets_event_json_on_stdin(factory: EventFactory, tmp_path: Path) -> None:
    out = tmp_path / "got.txt"
    events = [emotion(factory, "sad"), factory.speech_start(start_s=3)]
    with CommandSink(argv=[sys.executable, "-c", APPEND_STDIN, str(out)]) as sink:
        for event in events:
            sink.emit(event)
        assert sink.flush(timeout_s=10)
    lines = out.read_text().splitlines()
    assert [line.split(" ", 2)[:2] for line in lines] == [["emotion", "sad"], ["speech_start", "-"]]
    assert [event_from_json(line.split(" ", 2)[2]) for line in lines] == events


def test_only_emotion_events(factory: EventFactory, tmp_path: Path) -> None:
    out = tmp_path / "got.txt"
    with CommandSink(argv=[sys.executable, "-c", APPEND_STDIN, str(out)], event_types=["emotion"]) as sink:
        sink.emit(factory.speech_start(start_s=0))
        sink.emit(emotion(factory))
        sink.emit(factory.status(uptime_s=1, audio_s=1, audio_dropped_s=0, windows_classified=1))
        sink.flush(timeout_s=10)
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0].split(" ", 2)[2])["type"] == "emotion"
    assert sink.stats()["filtered"] == 2


def test_failing_and_hanging_programs_are_counted_not_raised(factory: EventFactory) -> None:
    failing = CommandSink(argv=[sys.executable, "-c", "import sys; sys.stderr.write('nope'); sys.exit(3)"])
    hanging = CommandSink(argv=[sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.3)
    started = time.monotonic()
    for sink in (failing, hanging):
        sink.emit(emotion(factory))
    assert time.monotonic() - started < 0.1  # the pipeline never waits for the program
    for sink in (failing, hanging):
        sink.close()
        assert sink.stats()["failed"] == 1
    assert time.monotonic() - started < 5


def test_argv_is_checked_up_front() -> None:
    with pytest.raises(ConfigError, match="no-such-program-xyz"):
        CommandSink(argv=["no-such-program-xyz"])
    with pytest.raises(ConfigError, match="list of strings"):
        CommandSink(argv="echo hi")  # type: ignore[arg-type]


# --- issue 15 item 2: stderr bounded, real exit status, no child left behind ---

STDERR_FLOOD = (
    "import sys\n"
    "from ser_edge.events import EventFactory\n"
    "from ser_edge.sinks import CommandSink\n"
    "import resource\n"
    "factory = EventFactory(model_id='m', model_sha256='0' * 64, device='d')\n"
    "hook = ['sh', '-c', 'head -c 200000000 /dev/zero >&2; exit 3']\n"
    "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "sink = CommandSink(argv=hook, timeout_s=60)\n"
    "sink.emit(factory.emotion(label='sad', confidence=0.9, scores={'sad': 0.9}, start_s=0, end_s=1))\n"
    "sink.flush(timeout_s=60)\n"
    "sink.close()\n"
    "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "print(sink.stats()['failed'], (after - before) // 1024)\n"
)


def test_a_hook_flooding_stderr_costs_no_memory() -> None:
    """200 MB on the hook's stderr: only a tail is kept (the run still counts as failed, status 3)."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", STDERR_FLOOD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    failed, grew_mb = map(int, done.stdout.split())
    assert failed == 1
    assert grew_mb < 20, f"peak RSS grew by {grew_mb} MB"
    assert "exited with status 3" in done.stderr


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("status", [0, 3])
def test_a_hook_leaving_a_child_on_stderr_is_judged_by_its_own_exit_and_the_child_ends(
        factory: EventFactory, tmp_path: Path, status: int) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {pid_file}; echo bye >&2; exit {status}"
    sink = CommandSink(argv=["sh", "-c", script], timeout_s=2.0)
    started = time.monotonic()
    sink.emit(emotion(factory))
    sink.flush(timeout_s=10)
    elapsed = time.monotonic() - started
    sink.close()
    assert elapsed < 1.5, f"took {elapsed:.2f} s: waited for the child's stderr"
    stats = sink.stats()
    assert (stats["delivered"], stats["failed"]) == ((1, 0) if status == 0 else (0, 1))
    child = int(pid_file.read_text())
    assert wait_until(lambda: not _alive(child), 5), "the hook's background child is still running"


def test_a_full_queue_drops_the_oldest_waiting_events_and_counts_them(factory: EventFactory, tmp_path: Path) -> None:
    """The one overflow rule of every background sink (ser_edge.sinks.background): the newest are kept."""
    out = tmp_path / "seqs.txt"
    slow = "import json, sys, time\nseq = json.load(sys.stdin)['seq']\ntime.sleep(0.3)\n" \
           f"open({str(out)!r}, 'a').write(f'{{seq}}\\n')\n"
    sink = CommandSink(argv=[sys.executable, "-c", slow], queue_size=3, close_timeout_s=20)
    events = [emotion(factory) for _ in range(10)]
    for event in events:
        sink.emit(event)
    sink.close()
    ran = [int(line) for line in out.read_text().split()]
    assert ran[-3:] == [e.seq for e in events[-3:]]  # the newest three waited and ran
    assert ran == sorted(ran)
    assert sink.stats()["dropped"] >= 10 - 3 - 1  # one may have been running already

"""The listener's settings: frozen dataclasses, one per configuration section.

Every key carries a `Spec` (kind, unit, range, doc, CLI flag); `ser_edge.config.load` reads a
TOML file and command-line overrides into these, checking every key against its spec.
Defaults here are the defaults everywhere: the example config and the flags' help text
are derived from them. Empty strings or lists mean "off" or "automatic" as each doc says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

from ser_edge.events import EVENT_NAMES

from .schema import Checked, Spec, opt, section

SOURCES = ("microphone", "stdin", "file")
#: which decisions become emotion events (`ser_edge.listen.utterances.decision_scopes`)
DECISION_SCOPES = ("auto", "window", "utterance", "both")
#: where the systemd unit keeps its configuration
SERVICE_CONFIG = "/etc/ser-edge/config.toml"


def unknown_event_types(names: Sequence[str]) -> list[str]:
    """The names (sorted) that are not event types; the one check of a sink's event_types."""
    return sorted(set(names) - set(EVENT_NAMES))


@dataclass(frozen=True)
class AudioSettings(Checked):
    """[audio]: where samples come from."""

    source: str = opt("microphone", "audio source: 'microphone', 'stdin' (raw s16le mono) or 'file'",
                      "choice", choices=SOURCES)
    device: str = opt("", "microphone: input device index or part of its name ('' = system default; "
                      "see `ser-edge devices`)", "str", flag="--mic")
    device_rate: int = opt(0, "microphone: rate to open the device at, Hz; 0 = the model rate if the device "
                           "takes it, else the device's default rate (resampled)", "int", low=0, high=384000, unit="Hz")
    channels: int = opt(1, "microphone: channels to open (averaged to mono); some USB devices only do 2",
                        "int", low=1, high=8)
    block_ms: int = opt(100, "audio block read at a time, ms", "int", low=10, high=1000, unit="ms")
    stall_timeout_s: float = opt(2.0, "microphone: no audio for this long counts as a fault and the device is "
                                 "reopened, s", low=0.2, high=60, unit="s")
    stdin_rate: int = opt(16000, "stdin: sample rate of the raw s16le mono stream, Hz", "int",
                          low=4000, high=384000, unit="Hz")
    stdin_eof: str = opt("exit", "stdin: at end of stream 'exit' (exit status 0, as a pipe ends) or 'reopen' "
                         "(keep reading with back-off, e.g. a FIFO whose writer restarts)", "choice",
                         choices=("exit", "reopen"))
    file: str = opt("", "file: audio file to read (WAV; FLAC/Ogg/AIFF with soundfile)", "str", flag="--from-wav")
    realtime: bool = opt(False, "file: pace the file like a live microphone instead of as fast as possible", "bool")
    reopen_min_s: float = opt(1.0, "first wait before reopening a failed source, s; doubles each failure",
                              low=0.01, high=600, unit="s")
    reopen_max_s: float = opt(30.0, "longest wait between reopen attempts, s", low=0.01, high=3600, unit="s")


@dataclass(frozen=True)
class ModelSettings(Checked):
    """[model]: the classifier."""

    path: str = opt("", "model bundle: a shipped name (default) or a folder ('' = $SER_EDGE_MODEL or "
                        "the shipped default)", "str", flag="--model")
    threads: int = opt(1, "interpreter threads", "int", low=1, high=16, flag="--threads")


@dataclass(frozen=True)
class GateSettings(Checked):
    """[gate]: the voice-activity gate (see ser_edge.frontend.vad) and how voiced a window must be."""

    min_level_db: float = opt(-55.0, "quietest in-band level that may be speech, dBFS", low=-120, high=0, unit="dBFS")
    margin_db: float = opt(6.0, "how far above the noise floor speech must be, dB", low=0, high=60, unit="dB")
    min_modulation_db: float = opt(1.5, "level modulation speech needs, dB (steady noise has less); 0 = off",
                                   low=0, high=60, unit="dB")
    floor_window_s: float = opt(3.0, "history for the noise floor, s", low=0.01, high=600, unit="s")
    floor_percentile: float = opt(10.0, "percentile of that history taken as the floor", low=0, high=50)
    modulation_ms: float = opt(300.0, "history for the modulation, ms", low=10, high=10000, unit="ms")
    onset_ms: float = opt(30.0, "active audio needed before speech starts, ms", low=0, high=5000, unit="ms")
    hangover_ms: float = opt(300.0, "audio without activity after which speech ends, ms", low=0, high=10000, unit="ms")
    min_voiced: float = opt(0.5, "share of a window's hops that must be speech for it to be classified",
                            low=0.01, high=1.0)

    def gate_kwargs(self) -> dict[str, float]:
        """Keyword arguments for `VoiceGate` (everything but min_voiced)."""
        data = dataclasses.asdict(self)
        data.pop("min_voiced")
        return data


@dataclass(frozen=True)
class SmoothingSettings(Checked):
    """[smoothing]: from window scores to decisions (see ser_edge.listen.smoothing)."""

    average_windows: int = opt(3, "windows averaged", "int", low=1, high=50)
    threshold: float = opt(0.5, "smoothed score a label needs to be decided, for labels not in thresholds "
                           "(raised to the model's tuned threshold where that is higher)",
                           low=0, high=1)
    thresholds: dict = opt({}, "per-label thresholds, e.g. {angry = 0.6} (these replace the model's tuned ones); "
                           "labels must be the model's",
                           "number_map", low=0, high=1, flag="--threshold")
    min_duration_s: float = opt(1.0, "audio a label must hold before it is decided, s", low=0, high=600, unit="s")
    hold_s: float = opt(3.0, "time before the same label may be decided again, s", low=0, high=3600, unit="s")
    scope: str = opt("auto", "which decisions become emotion events: 'window' (the smoothed windows), "
                     "'utterance' (each stretch of speech as a whole; models with an utterance head), 'both', "
                     "or 'auto' (utterance when the model has a head, else window)", "choice",
                     choices=DECISION_SCOPES)

    def smoother_kwargs(self, labels: Sequence[str], tuned: Optional[Mapping[str, float]] = None) -> dict[str, Any]:
        """Keyword arguments for `Smoother` for a model with these labels.

        A label's threshold is its own in `thresholds`; else `threshold`, raised to the model's
        tuned one (``tuned``, from the bundle's manifest) where that is higher: a tuned value is a
        floor that only a per-label threshold lowers. A threshold for a label the model does not
        have is left in, so that `Smoother` rejects it by name.
        """
        thresholds: Any = self.threshold
        if self.thresholds or tuned:
            thresholds = {k: max(self.threshold, (tuned or {}).get(k, 0.0)) for k in labels}
            thresholds.update(self.thresholds)
        return {"labels": list(labels), "average_windows": self.average_windows, "thresholds": thresholds,
                "min_duration_s": self.min_duration_s, "hold_s": self.hold_s}


@dataclass(frozen=True)
class ClipSettings(Checked):
    """[clips]: saving the audio of emotion events (off unless dir is set)."""

    dir: str = opt("", "folder for 16-bit WAV clips of emotion events, mode 0600 ('' = never write audio)",
                   "str", flag="--save-clips")
    max_confidence: float = opt(1.0, "save only events whose confidence is below this (1 = all events)",
                                low=0, high=1, flag="--save-clips-below")
    max_seconds: float = opt(30.0, "audio kept for clips, s (longer spans are cut to their end)",
                             low=1, high=600, unit="s", flag="--save-clips-max-s")


def _types(default: list[str], flag: Optional[str] = None) -> Any:
    return opt(default, "event types to send: emotion, speech_start, speech_end, status; on the command "
               "line comma-separated", "str_list", flag=flag)


@dataclass(frozen=True)
class StdoutSinkSettings(Checked):
    """[sinks.stdout]: one JSON line per event on standard output."""

    enabled: bool = opt(True, "write events to stdout", "bool", flag="--stdout")
    event_types: list = _types(EVENT_NAMES)


@dataclass(frozen=True)
class LogSinkSettings(Checked):
    """[sinks.log]: events as readable log lines on stderr (the journal under systemd)."""

    enabled: bool = opt(False, "log events on stderr", "bool", flag="--log-events")
    event_types: list = _types(["emotion", "speech_start", "speech_end"])


@dataclass(frozen=True)
class FileSinkSettings(Checked):
    """[sinks.file]: JSON lines appended to a file."""

    path: str = opt("", "JSONL file to append events to ('' = off)", "str", flag="--jsonl")
    event_types: list = _types(EVENT_NAMES, "--jsonl-event-types")


@dataclass(frozen=True)
class MqttSinkSettings(Checked):
    """[sinks.mqtt]: an MQTT broker, with Home Assistant discovery (needs ser-edge[mqtt])."""

    host: str = opt("", "broker host ('' = off)", "str")
    port: int = opt(1883, "broker port", "int", low=1, high=65535)
    username: str = opt("", "user name ('' = none)", "str")
    password: str = opt("", "password ('' = none; better: password_file)", "str", secret=True)
    password_file: str = opt("", "file holding the password (first line); refused unless only its owner "
                             "(root or the service user) can read it, or root:<the service's group> 0640", "str")
    client_id: str = opt("", "client id ('' = ser-edge-<device>-<pid>)", "str")
    tls: bool = opt(False, "use TLS (implied by ca_file/cert_file/key_file)", "bool")
    ca_file: str = opt("", "CA bundle for TLS ('' = the system's)", "str")
    cert_file: str = opt("", "client certificate ('' = none)", "str")
    key_file: str = opt("", "client key ('' = none)", "str")
    tls_insecure: bool = opt(False, "skip the broker host-name check (testing only)", "bool")
    keepalive_s: int = opt(60, "keep-alive, s", "int", low=5, high=3600, unit="s")
    reconnect_max_s: float = opt(30.0, "longest wait between reconnect attempts (from 1 s, doubling), s",
                                 low=1, high=3600, unit="s")
    topic_prefix: str = opt("ser-edge", "first topic level(s)", "str")
    discovery: bool = opt(True, "publish Home Assistant discovery", "bool")
    discovery_prefix: str = opt("homeassistant", "Home Assistant discovery prefix", "str")
    flush_timeout_s: float = opt(1.0, "wait at stop for the broker's acknowledgements, s (within the 10 s shutdown budget)", low=0, high=60, unit="s")
    event_types: list = _types(EVENT_NAMES)


@dataclass(frozen=True)
class WebhookSinkSettings(Checked):
    """[sinks.webhook]: an HTTP POST of each event's JSON."""

    url: str = opt("", "http(s) URL to POST events to ('' = off)", "str")
    headers: dict = opt({}, "extra request headers, e.g. {Authorization = \"Bearer ...\"}", "header_map",
                        secret=True, flag="--webhook-header")
    timeout_s: float = opt(5.0, "deadline for each request as a whole (connect, send, the answer), s", low=0.1, high=120, unit="s")
    retries: int = opt(-1, "further attempts for a failed request (refused, timed out, 5xx, 429); "
                       "-1 = until delivered, later events waiting in the spool", "int", low=-1, high=1000)
    backoff_max_s: float = opt(30.0, "longest wait between attempts (from 0.5 s, doubling), s", low=0.1, high=3600,
                               unit="s")
    close_timeout_s: float = opt(1.0, "wait at stop for queued requests, s (within the 10 s shutdown budget)", low=0, high=60, unit="s")
    event_types: list = _types(["emotion"])


@dataclass(frozen=True)
class CommandSinkSettings(Checked):
    """[sinks.command]: a program run per event, with the event JSON on its stdin (no shell)."""

    argv: list = opt([], "program and arguments ([] = off); on the command line one shell-quoted string",
                     "str_list", flag="--command")
    timeout_s: float = opt(10.0, "the program is killed after this, s", low=0.1, high=600, unit="s")
    close_timeout_s: float = opt(1.0, "wait at stop for queued runs, s (within the 10 s shutdown budget)", low=0, high=60, unit="s")
    event_types: list = _types(["emotion"])


@dataclass(frozen=True)
class SinkSettings(Checked):
    """[sinks.*]: any number of outputs at once."""

    stdout: StdoutSinkSettings = section(StdoutSinkSettings)
    log: LogSinkSettings = section(LogSinkSettings)
    file: FileSinkSettings = section(FileSinkSettings)
    mqtt: MqttSinkSettings = section(MqttSinkSettings)
    webhook: WebhookSinkSettings = section(WebhookSinkSettings)
    command: CommandSinkSettings = section(CommandSinkSettings)


@dataclass(frozen=True)
class SpoolSettings(Checked):
    """[spool]: where MQTT and webhook events wait while their receiver is away (see ser_edge.sinks.spool)."""

    dir: str = opt("", "folder for the on-disk spool, one subfolder per sink, so waiting events survive "
                   "a restart ('' = $STATE_DIRECTORY/spool under systemd, else memory only)", "str")
    max_events: int = opt(10000, "events that may wait per sink; beyond, the oldest are dropped and counted "
                          "in status events", "int", low=10, high=10_000_000)
    max_mb: float = opt(20.0, "bytes that may wait per sink, MB; beyond, the oldest are dropped", low=0.01,
                        high=100_000, unit="MB")
    fsync: str = opt("always", "disk spool: 'always' (each event is on the medium before it is sent; survives "
                     "a power cut) or 'never' (the kernel writes back within ~30 s; fewer SD-card writes)",
                     "choice", choices=("always", "never"))


@dataclass(frozen=True)
class Settings(Checked):
    """Everything `ser-edge listen` needs, built once at start (and again on SIGHUP)."""

    device: str = opt("", "device name in events and MQTT topics ('' = the host name)", "str", flag="--device-name")
    status_interval_s: float = opt(60.0, "a status event every this much audio, s; 0 = off", low=0, high=86400,
                                   unit="s", flag="--status-interval")
    adaptation: str = opt("on", "speaker-normalised models: learn the speaker's statistics as they listen ('on'), "
                          "use the stored ones without learning ('frozen') or the model's prior alone ('off')",
                          "choice", choices=("on", "frozen", "off"))
    adaptation_state: str = opt("", "file for the speaker statistics ('' = $STATE_DIRECTORY/adaptation.json under "
                                "systemd, else ~/.local/state/ser-edge/adaptation.json)", "str")
    adaptation_save_s: float = opt(60.0, "save the statistics at most this often while they change, s (and at "
                                   "SIGHUP and exit)", low=1, high=3600, unit="s")
    audio: AudioSettings = section(AudioSettings)
    model: ModelSettings = section(ModelSettings)
    gate: GateSettings = section(GateSettings)
    smoothing: SmoothingSettings = section(SmoothingSettings)
    clips: ClipSettings = section(ClipSettings)
    sinks: SinkSettings = section(SinkSettings)
    spool: SpoolSettings = section(SpoolSettings)


def iter_specs(cls: type = Settings, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Spec, Any]]:
    """(key path, spec, default) for every key, sections depth first, in declaration order."""
    for f in dataclasses.fields(cls):
        if "section" in f.metadata:
            yield from iter_specs(f.metadata["section"], prefix + (f.name,))
        else:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            yield prefix + (f.name,), f.metadata["spec"], default

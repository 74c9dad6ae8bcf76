"""PortAudio (PyAudio) plumbing: lazy import, quiet initialisation, listing and picking input devices."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator

from ser_edge.errors import DependencyError, SourceError


@dataclass(frozen=True)
class DeviceInfo:
    """An input device: PortAudio index, name, input channels, default rate (Hz), host API."""

    index: int
    name: str
    channels: int
    default_rate: float
    host_api: str
    is_default: bool = False


def import_pyaudio() -> Any:
    """The pyaudio module, or a DependencyError naming the extra and the system package."""
    try:
        import pyaudio
    except ImportError as exc:
        raise DependencyError("microphone input needs PyAudio: pip install 'ser-edge[mic]' "
                              "(build it after apt-get install portaudio19-dev)") from exc
    return pyaudio


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a moment: ALSA prints dozens of lines about absent PCMs when
    PortAudio probes them, which would bury the real log. Python-level logging is unaffected
    once this ends."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured): nothing to hide
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def open_pyaudio(pyaudio: Any) -> Any:
    """A PyAudio instance (PortAudio initialised, quietly)."""
    with quiet_stderr():
        return pyaudio.PyAudio()


def input_devices(pa: Any) -> list[DeviceInfo]:
    """Every device with input channels."""
    try:
        default = pa.get_default_input_device_info()["index"]
    except (OSError, IOError):
        default = None
    out = []
    for i in range(pa.get_device_count()):
        d = pa.get_device_info_by_index(i)
        if int(d.get("maxInputChannels", 0)) > 0:
            api = pa.get_host_api_info_by_index(d["hostApi"])["name"]
            out.append(DeviceInfo(i, str(d["name"]), int(d["maxInputChannels"]), float(d["defaultSampleRate"]),
                                  str(api), i == default))
    return out


def list_input_devices() -> list[DeviceInfo]:
    """Input devices as PortAudio sees them now (for `ser-edge devices`)."""
    pyaudio = import_pyaudio()
    pa = open_pyaudio(pyaudio)
    try:
        return input_devices(pa)
    finally:
        pa.terminate()


def pick_device(pa: Any, spec: str) -> DeviceInfo:
    """The input device named by ``spec``: "" the default, digits an index, else a name part.

    SourceError (it may be plugged in later) naming the inputs there are when none matches.
    """
    devices = input_devices(pa)
    there = "; ".join(f"{d.index}: {d.name}" for d in devices) or "none"
    spec = spec.strip()
    if not spec:
        chosen = [d for d in devices if d.is_default] or devices[:1]
        if not chosen:
            raise SourceError(f"no audio input device found (inputs: {there})")
        return chosen[0]
    if spec.isdigit():
        chosen = [d for d in devices if d.index == int(spec)]
    else:
        exact = [d for d in devices if d.name.lower() == spec.lower()]
        chosen = exact or [d for d in devices if spec.lower() in d.name.lower()]
    if not chosen:
        raise SourceError(f"no input device matches {spec!r} (inputs: {there})")
    return chosen[0]

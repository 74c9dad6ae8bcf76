"""Audio sources: microphone (PyAudio), raw PCM on stdin, audio files, arrays and iterables.

Each delivers `Block`s of float32 mono at the model rate (see `base.Source`);
`make_source` builds the one the [audio] settings name.
"""

from __future__ import annotations

from ser_edge.config.settings import AudioSettings

from .arrays import ArraySource, IterableSource
from .base import Block, Source, StreamResampler
from .files import FileSource
from .microphone import MicrophoneSource
from .portaudio import DeviceInfo, list_input_devices
from .resilient import ResilientSource
from .stdin import StdinSource

__all__ = [
    "ArraySource", "Block", "DeviceInfo", "FileSource", "IterableSource", "MicrophoneSource",
    "ResilientSource", "Source", "StdinSource", "StreamResampler", "list_input_devices", "make_source",
]


def make_source(audio: AudioSettings, sample_rate: int) -> Source:
    """The source [audio] describes, delivering at ``sample_rate`` Hz (not yet opened)."""
    if audio.source == "file":
        return FileSource(audio.file, sample_rate, block_ms=audio.block_ms, realtime=audio.realtime)
    if audio.source == "stdin":
        return StdinSource(sample_rate, rate=audio.stdin_rate, block_ms=audio.block_ms, eof=audio.stdin_eof)
    return MicrophoneSource(sample_rate, device=audio.device, device_rate=audio.device_rate,
                            channels=audio.channels, block_ms=audio.block_ms, stall_timeout_s=audio.stall_timeout_s)

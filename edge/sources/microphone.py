"""A microphone through PyAudio (PortAudio), in callback mode, with dropped audio counted.

PortAudio calls `_on_audio` on its own thread with each buffer; the buffers wait in a
bounded queue for `read`. Audio is lost in two places, and both are counted: the device
overran (PortAudio flags ``paInputOverflow``; the gap is measured from the buffers' ADC
times when the host API provides them, else one buffer is assumed), or our queue was full
because the pipeline fell behind (counted exactly). The device opens at the model rate
when it supports it, else at its default rate with streaming soxr resampling.

pyaudio is imported lazily; without it a DependencyError names the extra
(``pip install ser-edge[mic]``, which needs ``apt-get install portaudio19-dev`` to build).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Optional

from ser_edge.errors import SourceError

from .base import EMPTY, MAX_WAIT_S, Block, StreamResampler, pcm16_to_float
from .portaudio import DeviceInfo, import_pyaudio, open_pyaudio, pick_device, quiet_stderr

log = logging.getLogger(__name__)


class MicrophoneSource:
    """Blocks of ``block_ms`` from an input device, mono float32 at ``sample_rate`` Hz.

    device: index or case-insensitive part of the name ("" = the default input);
    device_rate: Hz to open at (0 = ``sample_rate`` if supported, else the device default);
    channels: opened channels, averaged to mono; stall_timeout_s: no buffers for this long
    is a SourceError (a hung or vanished device); queue_s: audio the queue may hold, s.
    """

    def __init__(self, sample_rate: int, *, device: str = "", device_rate: int = 0, channels: int = 1,
                 block_ms: int = 100, stall_timeout_s: float = 2.0, queue_s: float = 5.0) -> None:
        self.sample_rate = int(sample_rate)
        self.device, self.device_rate, self.channels = str(device), int(device_rate), int(channels)
        self.block_ms, self.stall_timeout_s = block_ms, stall_timeout_s
        self.name = f"microphone {self.device or '(default)'}"
        self._queue: "queue.Queue[bytes]" = queue.Queue(maxsize=max(2, int(queue_s * 1000 / block_ms)))
        self._lock = threading.Lock()
        self._pa: Any = None
        self._stream: Any = None
        self._resample: Optional[StreamResampler] = None
        self.overflows = 0  # device overruns reported by PortAudio
        self._dropped_in = 0  # device-rate frames lost, not yet reported in a Block
        self._last_audio = 0.0
        self._next_adc: Optional[float] = None
        self._overflow_flag, self._continue = 2, 0  # paInputOverflow, paContinue; set from pyaudio at open

    def open(self) -> None:
        """Find the device and start the stream; SourceError naming it if that fails."""
        self.close()
        pyaudio = import_pyaudio()
        self._overflow_flag, self._continue = pyaudio.paInputOverflow, pyaudio.paContinue
        self._pa = open_pyaudio(pyaudio)
        try:
            info = pick_device(self._pa, self.device)
            rate = self._choose_rate(pyaudio, info)
            self._resample = StreamResampler(rate, self.sample_rate)
            self._last_audio, self._next_adc = time.monotonic(), None
            with quiet_stderr():
                self._stream = self._pa.open(
                    format=pyaudio.paInt16, channels=self.channels, rate=rate, input=True,
                    input_device_index=info.index, frames_per_buffer=max(1, rate * self.block_ms // 1000),
                    stream_callback=self._on_audio)
        except OSError as exc:  # PortAudio errors, e.g. [Errno -9996] Invalid input device
            self.close()
            raise SourceError(f"{self.name}: cannot open it ({exc})") from None
        except SourceError:
            self.close()
            raise
        self.name = f"microphone {info.index} '{info.name}' at {rate} Hz"
        log.info("listening on %s%s", self.name,
                 "" if rate == self.sample_rate else f", resampled to {self.sample_rate} Hz")

    def _choose_rate(self, pyaudio: Any, info: DeviceInfo) -> int:
        if self.device_rate:
            return self.device_rate
        try:
            if self._pa.is_format_supported(self.sample_rate, input_device=info.index,
                                            input_channels=self.channels, input_format=pyaudio.paInt16):
                return self.sample_rate
        except ValueError:  # PyAudio says "not supported" by raising
            pass
        return int(info.default_rate)

    def _on_audio(self, data: bytes, frames: int, time_info: dict, status: int) -> tuple[None, int]:
        """PortAudio's thread: queue the buffer, count what was lost. Never raises."""
        rate = self._resample.rate_in if self._resample else self.sample_rate
        adc = float((time_info or {}).get("input_buffer_adc_time") or 0.0)
        gap = int(round((adc - self._next_adc) * rate)) if adc > 0 and self._next_adc else 0
        self._next_adc = adc + frames / rate if adc > 0 else None
        with self._lock:
            if status & self._overflow_flag:
                self.overflows += 1
                self._dropped_in += gap if gap > 0 else frames  # no usable ADC time: assume one buffer
            elif gap > frames // 2:  # a hole without a flag, seen in the ADC times
                self._dropped_in += gap
            self._last_audio = time.monotonic()
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            with self._lock:
                self._dropped_in += frames
        return None, self._continue

    def read(self) -> Optional[Block]:
        if self._stream is None or self._resample is None:
            raise SourceError(f"{self.name}: not open")
        try:
            data = self._queue.get(timeout=min(MAX_WAIT_S, self.block_ms / 1000.0 * 2))
        except queue.Empty:
            self._check_alive()
            return EMPTY
        with self._lock:
            dropped, self._dropped_in = self._dropped_in, 0
        samples = self._resample(pcm16_to_float(data, self.channels))
        return Block(samples, self._resample.frames_out(dropped))

    def _check_alive(self) -> None:
        try:
            active = bool(self._stream.is_active())
        except OSError as exc:
            raise SourceError(f"{self.name}: stream failed ({exc})") from None
        if not active:
            raise SourceError(f"{self.name}: the stream stopped (device unplugged?)")
        with self._lock:
            silent_s = time.monotonic() - self._last_audio
        if silent_s > self.stall_timeout_s:
            raise SourceError(f"{self.name}: no audio for {silent_s:.1f} s")

    def close(self) -> None:
        stream, pa = self._stream, self._pa
        self._stream = self._pa = None
        for action in (lambda: stream and stream.stop_stream(), lambda: stream and stream.close(),
                       lambda: pa and pa.terminate()):
            try:
                action()
            except OSError as exc:  # an unplugged device may fail to stop: it is gone anyway
                log.debug("%s: while closing: %s", self.name, exc)
        while not self._queue.empty():
            self._queue.get_nowait()
        if self._resample is not None:
            self._resample.close()  # the next open makes a new one

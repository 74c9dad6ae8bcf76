"""The TFLite interpreter behind one small interface: ai-edge-litert first, tflite-runtime second.

Never TensorFlow: the device installs only the interpreter wheel. What the C++ runtime
prints on stderr while the interpreter is made ("INFO: Created TensorFlow Lite XNNPACK
delegate for CPU.") goes to the log instead (`native_stderr_to_log`), so that ``-q`` hides it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, Callable, TypeVar

from ser_edge.errors import DependencyError

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKENDS = ("ai_edge_litert", "tflite_runtime")


def _load_litert():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def _load_tflite_runtime():
    from tflite_runtime.interpreter import Interpreter

    return Interpreter


def interpreter_class(prefer: str | None = None) -> tuple[Any, str]:
    """(Interpreter class, backend name). Raise DependencyError saying what to install."""
    loaders = {"ai_edge_litert": _load_litert, "tflite_runtime": _load_tflite_runtime}
    order = [prefer] if prefer else list(BACKENDS)
    problems = []
    for name in order:
        try:
            return loaders[name](), name
        except ImportError as exc:
            problems.append(f"{name}: {exc}")
        except (AttributeError, RuntimeError, SystemError) as exc:
            # tflite-runtime 2.14 is compiled against NumPy 1.x and fails to import under NumPy 2
            problems.append(f"{name}: {exc} (tflite-runtime 2.14 needs numpy<2: pip install 'numpy<2')")
    raise DependencyError(
        "no TFLite interpreter: pip install ai-edge-litert (or tflite-runtime with numpy<2); tried "
        + "; ".join(problems)
    )


def make_interpreter(model_path: str, *, num_threads: int = 1, prefer: str | None = None):
    """A ready (tensors allocated) interpreter for ``model_path``; returns (interpreter, backend)."""
    cls, backend = interpreter_class(prefer)

    def make() -> Any:
        interpreter = cls(model_path=str(model_path), num_threads=num_threads)
        interpreter.allocate_tensors()  # the XNNPACK delegate is applied (and announced) here
        return interpreter

    return native_stderr_to_log(make), backend


def native_stderr_to_log(call: Callable[[], T]) -> T:
    """``call()`` with file descriptor 2 sent to a temporary file; its lines are then logged
    ("INFO: x" as INFO "x", anything else as WARNING). Only while no other thread runs (one
    that writes to stderr meanwhile would have its output delayed): otherwise ``call()`` as is."""
    if threading.active_count() > 1:
        return call()
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        return call()
    with _scratch_file() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            return call()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read(1 << 16).decode("utf-8", "replace").splitlines():
                if line.startswith("INFO: "):
                    log.info("%s", line[6:])
                elif line.strip():
                    log.warning("%s", line)


def _scratch_file():
    """An unnamed read-write binary file: a memfd on Linux (tempfile imports shutil, random, bz2
    and lzma: 0.8 MB of a WAV classify, which needs none of them), else ``tempfile.TemporaryFile()``."""
    if hasattr(os, "memfd_create"):
        try:
            return open(os.memfd_create("ser-edge-stderr", os.MFD_CLOEXEC), "w+b")
        except OSError:  # a kernel without memfd (before 3.17), or a seccomp filter refusing it
            pass
    import tempfile

    return tempfile.TemporaryFile()

"""The TFLite interpreter behind one small interface: ai-edge-litert first, tflite-runtime second.

Never TensorFlow: the device installs only the interpreter wheel.
"""

from __future__ import annotations

from typing import Any

from ser_edge.errors import DependencyError

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
    interpreter = cls(model_path=str(model_path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter, backend

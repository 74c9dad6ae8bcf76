"""Multiply-accumulates per inference, counted from a TFLite model's own tensors.

Method: walk the interpreter's op list (`_get_ops_details`, the graph as converted) and read
each op's tensor shapes (`get_tensor_details`). Only the ops that multiply weights by
activations are counted; pooling, MEAN, SOFTMAX, reshapes and (de)quantization add a few
thousand adds or compares at most and are listed as uncounted. Ops the XNNPACK delegate has
taken over appear twice (the original and a DELEGATE node); DELEGATE nodes are skipped so
that nothing is counted twice.

* CONV_2D: output elements x kernel height x kernel width x input channels
  (filter shape [out_ch, kh, kw, in_ch]).
* DEPTHWISE_CONV_2D: output elements x kernel height x kernel width.
* FULLY_CONNECTED: output elements x input features (weights [out, in]).
* BATCH_MATMUL: output elements x the shared (contracted) dimension.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

COUNTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL")
#: structural ops: not part of the graph's arithmetic
SKIPPED = ("DELEGATE",)
METHOD = ("MACs = sum over CONV_2D of output elements x kh x kw x in_ch, DEPTHWISE_CONV_2D output x kh x kw, "
          "FULLY_CONNECTED output x in, BATCH_MATMUL output x inner dim; other ops (pooling, mean, softmax, "
          "reshape) not counted; DELEGATE nodes skipped (they repeat ops already counted)")


@dataclass(frozen=True)
class OpMacs:
    """One counted op: its name, output shape and multiply-accumulates."""

    op: str
    output_shape: tuple[int, ...]
    macs: int


@dataclass(frozen=True)
class MacCount:
    """Multiply-accumulates for one inference (one window, batch 1)."""

    total: int
    ops: tuple[OpMacs, ...]
    uncounted: Mapping[str, int] = field(default_factory=dict)  # op name -> how many

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "method": METHOD,
                "ops": [{"op": o.op, "output_shape": list(o.output_shape), "macs": o.macs} for o in self.ops],
                "uncounted_ops": dict(self.uncounted)}


def op_macs(name: str, input_shapes: Sequence[Sequence[int]], output_shape: Sequence[int]) -> int:
    """Multiply-accumulates of one op from its tensor shapes (see the module docstring); 0 if not counted."""
    out = int(np.prod(output_shape)) if len(output_shape) else 1
    if name == "CONV_2D":
        _, kh, kw, cin = input_shapes[1]
        return out * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = input_shapes[1]
        return out * kh * kw
    if name == "FULLY_CONNECTED":
        return out * int(input_shapes[1][-1])  # weights are [out, in]
    if name == "BATCH_MATMUL":
        return out * int(input_shapes[0][-1])
    return 0


def count_from_details(ops: Iterable[Mapping[str, Any]], tensors: Iterable[Mapping[str, Any]]) -> MacCount:
    """MacCount from the interpreter's op and tensor detail dicts (pure: testable without a model)."""
    shapes = {int(t["index"]): tuple(int(d) for d in t["shape"]) for t in tensors}
    counted: list[OpMacs] = []
    uncounted: dict[str, int] = {}
    for op in ops:
        name = str(op["op_name"])
        if name in SKIPPED:
            continue
        if name not in COUNTED:
            uncounted[name] = uncounted.get(name, 0) + 1
            continue
        inputs = [shapes.get(int(i), ()) for i in op["inputs"] if int(i) >= 0]  # -1: an absent optional input
        output = shapes[int(op["outputs"][0])]
        counted.append(OpMacs(name, output, op_macs(name, inputs, output)))
    return MacCount(sum(o.macs for o in counted), tuple(counted), uncounted)


def count_macs(interpreter: Any) -> MacCount:
    """MacCount of an allocated TFLite interpreter (ai-edge-litert or tflite-runtime).

    `_get_ops_details` is private API: present in both interpreters since TF 2.5. Raises
    RuntimeError saying so if an interpreter lacks it.
    """
    walk = getattr(interpreter, "_get_ops_details", None)
    if walk is None:
        raise RuntimeError("this TFLite interpreter cannot list its ops (_get_ops_details); MACs not counted")
    return count_from_details(walk(), interpreter.get_tensor_details())

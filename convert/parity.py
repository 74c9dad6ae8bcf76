"""Did quantization cost accuracy? Float vs int8 on speakers the model never trained on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: gates from the converter's contract: top-1 agreement and UAR loss allowed
MIN_AGREEMENT = 0.97
MAX_UAR_DROP = 0.01


@dataclass(frozen=True)
class Parity:
    """Window-level top-1 agreement and clip-level reports for both models."""

    agreement: float
    windows: int
    float_report: dict
    int8_report: dict
    speakers: list[str]
    source: str  # "test" or "validation": which held-out speakers were used

    @property
    def uar_drop(self) -> float:
        return self.float_report["uar"] - self.int8_report["uar"]

    def failures(self) -> list[str]:
        out = []
        if self.agreement < MIN_AGREEMENT:
            out.append(f"int8/float top-1 agreement {self.agreement:.3f} is below {MIN_AGREEMENT:.2f}")
        if self.uar_drop > MAX_UAR_DROP:
            out.append(
                f"int8 UAR {self.int8_report['uar']:.3f} is {100 * self.uar_drop:.1f} points below float "
                f"{self.float_report['uar']:.3f} (at most {100 * MAX_UAR_DROP:.0f} allowed)"
            )
        return out

    def to_dict(self) -> dict:
        return {
            "held_out_speakers": self.speakers, "held_out_part": self.source, "windows": self.windows,
            "top1_agreement": round(self.agreement, 4), "uar_drop": round(self.uar_drop, 4),
            "float": self.float_report, "int8": self.int8_report,
        }


def top1_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of rows where two (n, classes) score arrays pick the same class."""
    return float(np.mean(a.argmax(axis=1) == b.argmax(axis=1))) if len(a) else 1.0

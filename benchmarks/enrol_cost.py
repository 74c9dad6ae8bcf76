"""What enrolment costs on the device (issue 25's targets): enrolling 20 clips of one speaker, and
the personal head per decision. Prints figures; passes or fails nothing.

    python benchmarks/enrol_cost.py [-m BUNDLE] [--data ../shared/data] [--speaker Actor_05]

Clips are two RAVDESS takes of one label each, joined. Enrolment = `Recognizer.enrol` of each clip (its front end, gate, the bundle's decision and its
statistics) then the head built once from them (`Enrolment.head`), wall time from the first clip
to the head. Per decision = `personal_probabilities` (the head on one utterance's statistics and
scores), the median and p95 of 2000 calls. The machine's load is printed with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from ser_edge.audio.read import load_audio
from ser_edge.frontend.functionals import vector_dims
from ser_edge.listen.enrolment import personal_probabilities
from ser_edge.listen.recognizer import Recognizer

RAVDESS = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry", "06": "fearful", "07": "disgust",
           "08": "surprised"}


def clips_of(folder: Path, labels: tuple[str, ...], n: int) -> list[tuple[str, Path]]:
    """Up to ``n`` (label, path) of a RAVDESS actor folder, labels taken in turn."""
    by_label: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.flac")):
        label = RAVDESS.get(path.stem.split("-")[2])
        if label in labels:
            by_label.setdefault(label, []).append(path)
    out: list[tuple[str, Path]] = []
    while len(out) < n and any(by_label.values()):
        for label in labels:
            if by_label.get(label) and len(out) < n:
                out.append((label, by_label[label].pop(0)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-m", "--model", default=None)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("SER_EDGE_DATA", "../shared/data")))
    ap.add_argument("--speaker", default="Actor_05")
    ap.add_argument("--clips", type=int, default=20)
    args = ap.parse_args(argv)
    recognizer = Recognizer(args.model)
    chosen = clips_of(args.data / "ravdess" / args.speaker, recognizer.labels, 2 * args.clips)
    # two takes of a label make one clip (RAVDESS sentences have under 2 s of speech, enrolment's least);
    # reading files is not the device's cost
    pairs = [(chosen[i], chosen[j]) for i in range(len(chosen)) for j in range(i + 1, len(chosen))
             if chosen[i][0] == chosen[j][0]]
    used: set = set()
    audio = []
    for (label, a), (_, b) in pairs:
        if a not in used and b not in used and len(audio) < args.clips:
            used |= {a, b}
            audio.append((label, np.concatenate([load_audio(a), load_audio(b)])))
    load = os.getloadavg()[0]
    started = time.perf_counter()
    for label, x in audio:
        recognizer.enrol(label, x, 16000)
    head = recognizer.enrolment.head()
    enrol_s = time.perf_counter() - started
    vector = recognizer.enrolment.clips[0].vector[:vector_dims(recognizer.params)]  # the statistics part
    scores = np.full(len(recognizer.labels), 1.0 / len(recognizer.labels))
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        personal_probabilities(recognizer.enrolment, vector, scores)
        times.append(time.perf_counter() - t)
    ms = 1000 * np.array(times)
    print(f"model      {recognizer.bundle.model_id}; {len(audio)} clips of ravdess {args.speaker} "
          f"({sum(x.size for _, x in audio) / 16000:.1f} s); load (1 min) {load:.2f}")
    print(f"enrolment  {enrol_s:.2f} s for {len(audio)} clips, head built ({head is not None}); target < 1 s on the device")
    print(f"per decision (personal head)  p50 {np.median(ms):.3f} ms  p95 {np.percentile(ms, 95):.3f} ms; "
          "target <= 0.1 ms added")
    return 0


if __name__ == "__main__":
    sys.exit(main())

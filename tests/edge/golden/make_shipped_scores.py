"""Record an old bundle's scores on a few real clips (run once, before a change that must not
alter them): clip decisions through `Recognizer` and every emotion event of the `Pipeline`.
The bundle is `OLD_BUNDLE`, the default model shipped before speaker normalisation (kept under
tests/ when models/default was retrained).

    .venv/bin/python tests/edge/golden/make_shipped_scores.py   # writes shipped_scores.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OLD_BUNDLE = HERE.parent / "old_bundles" / "window-cmvn-v1"
sys.path.insert(0, str(HERE.parents[2]))

from tests.conftest import data_root  # noqa: E402

CLIPS = ("ravdess/Actor_17/03-01-05-02-01-01-17.flac", "ravdess/Actor_18/03-01-04-01-02-02-18.flac",
         "ravdess/Actor_20/03-01-01-01-01-01-20.flac", "tess/OAF_angry/OAF_back_angry.flac",
         "emovo/f1/gio-f1-b1.flac")


def record(root: Path, bundle: Path = OLD_BUNDLE) -> dict:
    import numpy as np

    from ser_edge.audio.read import load_audio
    from ser_edge.listen.pipeline import Pipeline
    from ser_edge.listen.recognizer import Recognizer

    recognizer = Recognizer(bundle)
    out: dict = {"clips": {}, "events": {}}
    for rel in CLIPS:
        out["clips"][rel] = recognizer.classify_file(root / rel).scores
        pipeline = Pipeline(recognizer.classifier, clock=lambda: 0.0, status_interval_s=0)
        x = load_audio(root / rel, recognizer.params.sample_rate)
        x = np.concatenate([x, x, x])  # long enough for the smoother to decide
        events = [e for i in range(0, x.size, 1600) for e in pipeline.push(x[i:i + 1600])] + pipeline.finish()
        out["events"][rel] = [{k: e.to_dict()[k] for k in ("label", "confidence", "scores", "start_s", "end_s")}
                              for e in events if e.type == "emotion"]
    return out


if __name__ == "__main__":
    (HERE / "shipped_scores.json").write_text(json.dumps(record(data_root()), indent=1) + "\n")
    print("wrote", HERE / "shipped_scores.json")

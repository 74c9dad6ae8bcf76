"""A speaker-normalised bundle for tests: the shipped int8 model with a manifest that says
speaker_cmvn and carries a population prior from real clips (or from synthetic audio when the
corpora are absent). The model was not trained for it; tests use it for the mechanics
(statistics, state files, block-size invariance), never for accuracy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ser_edge.frontend.mfcc import MfccExtractor
from ser_edge.frontend.normalise import population_prior, voiced
from ser_edge.frontend.params import FeatureParams
from ser_edge.frontend.vad import VoiceGate
from ser_edge.model.bundle import MANIFEST_FILE, manifest_digest, normalisation_block
from ser_edge.model.shipped import default_bundle_path


def prior_frames(data_dir: Path | None, params: FeatureParams) -> dict[str, np.ndarray]:
    """Voiced frames per speaker: two RAVDESS actors, or two synthetic 'voices'."""
    from ser_edge.audio.read import load_audio

    out = {}
    for actor in ("01", "02"):
        if data_dir is not None and (data_dir / "ravdess").is_dir():
            clips = sorted((data_dir / "ravdess" / f"Actor_{actor}").glob("*.flac"))[:6]
            x = np.concatenate([load_audio(c, params.sample_rate) for c in clips])
        else:
            rng = np.random.default_rng(int(actor))
            t = np.arange(3 * params.sample_rate) / params.sample_rate
            x = (0.1 * np.sin(2 * np.pi * (120 + 60 * int(actor)) * t) * (1 + np.sin(2 * np.pi * 4 * t))
                 + 0.01 * rng.normal(size=t.size)).astype(np.float32)
        out[actor] = voiced(MfccExtractor(params)(x), VoiceGate.from_params(params).push(x))
    return out


def make_speaker_bundle(folder: Path, data_dir: Path | None = None, **constants) -> Path:
    """Copy the shipped bundle to ``folder`` as a speaker_cmvn bundle (constants: adapt_* fields)."""
    shutil.copytree(default_bundle_path(), folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    params = FeatureParams.from_dict(manifest["feature_params"]).replace(normalisation="speaker_cmvn", **constants)
    prior = population_prior(prior_frames(data_dir, params), params.hop_ms / 1000.0)
    manifest.update(feature_params=params.to_dict(), feature_params_hash=params.stable_hash(),
                    normalisation=normalisation_block(params, prior))
    manifest["manifest_sha256"] = manifest_digest(manifest)  # a consistent bundle, as ser-convert writes one
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return folder

"""The data of a run: corpora -> speaker split -> cached features -> normalised windows per part.

`prepare` does it all for training (indexing the corpora, augmented copies included). `clean_windows`
builds the clean parts again from a run's own clip list and the feature cache, the same way, without
indexing any corpus: what a converter needs (`ser_train.fit.run.Run.windows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ser_edge.errors import ConfigError
from ser_edge.frontend.normalise import Prior
from ser_train.config import TrainConfig
from ser_train.data.corpora import Clip, index_folders
from ser_train.data.labels import LabelSet, get_label_set
from ser_train.data.splits import SpeakerSplit, make_split, speaker_ids
from ser_train.features.augment import AugmentConfig, augment_audio
from ser_train.features.cache import FeatureCache, extract
from ser_train.features.speakers import Budget, settled_norms, training_norms, training_prior, voiced_by_clip
from ser_train.features.windows import WindowSet, build_windows

#: the parts of a split with their windows; train_clean is what the device hears (quantization calibrates on it)
PARTS = ("train", "validation", "test")


@dataclass
class Prepared:
    """The data of a run: clips, their split and windows per part (train, train_clean, validation, test)."""

    clips: list[Clip]
    split: SpeakerSplit
    label_set: LabelSet
    windows: dict[str, WindowSet]
    skipped: list[tuple[str, str]]
    prior: Optional[Prior] = None  # speaker_cmvn: the population prior over the training speakers


def select_clips(config: TrainConfig) -> tuple[list[Clip], SpeakerSplit, list[tuple[str, str]]]:
    """Index the corpora, keep the clips of the label set and split them by speaker:
    (clips, split, skipped files as (path, reason))."""
    label_set = get_label_set(config.label_set)
    index = index_folders([Path(d) for d in config.data_dirs])
    excluded = set(speaker_ids(config.exclude_speakers))
    unknown = sorted(excluded - {c.speaker for c in index.clips})
    if unknown:
        raise ConfigError(f"exclude_speakers: {', '.join(unknown)} not in the data")
    clips = [c for c in index.clips if label_set.index_of(c.emotion) is not None and c.speaker not in excluded]
    split = make_split({c.speaker for c in clips}, test=speaker_ids(config.test_speakers),
                       validation=speaker_ids(config.validation_speakers))
    return clips, split, [(str(p.path), p.reason) for p in index.problems]


def prepare(config: TrainConfig, *, progress: bool = True) -> Prepared:
    """Index, split by speaker, extract (cached) clean and augmented features, cut windows."""
    clips, split, skipped = select_clips(config)
    parts = _parts(clips, split)
    if not parts["train"] or not parts["validation"]:
        raise ConfigError("the split leaves no training or no validation clips; check --test-speakers/--validation-speakers")
    cache = FeatureCache(Path(config.cache_dir), config.params)
    features, failed = extract([c.path for c in clips], cache, workers=config.workers, progress=progress)
    variants = [f"aug{config.augment.stable_hash()}-{k}" for k in range(config.augment.copies)]
    if variants:
        transform = _AugmentTransform(config.augment, config.params.sample_rate)
        augmented, _ = extract([c.path for c in parts["train"]], cache, variants=variants, transform=transform,
                               seed=config.seed, workers=config.workers, progress=progress)
        features.update(augmented)
    skipped += [(str(p), reason) for p, reason in failed]
    label_set = get_label_set(config.label_set)
    prior, windows = _windows(config, clips, split, label_set, features, variants)
    return Prepared(clips=clips, split=split, label_set=label_set, windows=windows, skipped=skipped, prior=prior)


def clean_windows(config: TrainConfig, clips: Sequence[Clip], split: SpeakerSplit, *,
                  progress: bool = False) -> dict[str, WindowSet]:
    """train_clean, validation and test windows of ``clips`` (a run's own list, in its order),
    from the feature cache (computed again where an entry is missing): the same windows and
    speaker statistics that `prepare` made for that run."""
    cache = FeatureCache(Path(config.cache_dir), config.params)
    features, _ = extract([c.path for c in clips], cache, workers=config.workers, progress=progress)
    _, windows = _windows(config, list(clips), split, get_label_set(config.label_set), features, [])
    return windows


def _parts(clips: Sequence[Clip], split: SpeakerSplit) -> dict[str, list[Clip]]:
    return {k: [c for c in clips if split.part_of(c) == k] for k in PARTS}


def _windows(config: TrainConfig, clips: list[Clip], split: SpeakerSplit, label_set: LabelSet, features,
             variants: list[str]) -> tuple[Optional[Prior], dict[str, WindowSet]]:
    """(prior, {part: windows}); window clip numbers are positions in ``clips``, whatever the part."""
    parts = _parts(clips, split)
    at = {k: [i for i, c in enumerate(clips) if split.part_of(c) == k] for k in parts}
    prior, norms = _speaker_norms(config, parts, at, features, variants)

    def part(name: str, which: list[str]) -> WindowSet:
        return build_windows(parts[name], features, label_set, config.params, variants=which, numbers=at[name],
                             norms=norms[name], channels=config.model.channels)

    windows = {"train_clean": part("train", ["clean"]), "validation": part("validation", ["clean"]),
               "test": part("test", ["clean"])}
    if variants:
        windows = {"train": part("train", ["clean", *variants]), **windows}
    else:
        windows = {"train": windows["train_clean"], **windows}
    return prior, windows


def _speaker_norms(config: TrainConfig, parts: dict[str, list[Clip]], at: dict[str, list[int]], features,
                   variants: list[str]):
    """speaker_cmvn: (prior, {part: norms}) keyed by (clip number ``at[part][k]``, variant); training
    clips get random-budget statistics per variant (clean first, so the clean ones do not depend on
    the augmented copies), validation and test speakers all of their speech. Otherwise (None, {part: None})."""
    if config.params.normalisation != "speaker_cmvn":
        return None, {k: None for k in parts}
    params, train = config.params, parts["train"]
    prior = training_prior(train, voiced_by_clip(train, features), params)
    if prior is None:
        raise ConfigError("speaker_cmvn: the training clips have no voiced frames to build a prior from")
    budget = Budget(config.budget_min_s, config.budget_max_s, config.budget_draws)
    rng = np.random.default_rng(config.seed)
    norms: dict[str, Any] = {"train": {}}
    for variant in ["clean", *variants]:
        voiced = voiced_by_clip(train, features, variant)
        norms["train"].update(training_norms(train, range(len(train)), voiced, params, prior, budget, rng, variant))
    for part in ("validation", "test"):
        clips = parts[part]
        norms[part] = settled_norms(clips, range(len(clips)), voiced_by_clip(clips, features), params, prior)
    # computed by position in each part; windows number clips by position in the whole list
    return prior, {part: {(at[part][k], variant): norm for (k, variant), norm in part_norms.items()}
                   for part, part_norms in norms.items()}


class _AugmentTransform:
    """Picklable (samples, rng) -> samples for the extraction workers."""

    def __init__(self, config: AugmentConfig, sample_rate: int):
        self.config, self.sample_rate = config, sample_rate

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return augment_audio(x, rng=rng, config=self.config, sample_rate=self.sample_rate)

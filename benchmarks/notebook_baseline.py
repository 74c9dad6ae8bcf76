"""The pipeline typical speech-emotion notebooks build, kept as the baseline for side_by_side.py.

Features: `librosa.load(path, sr=22050)`, then the usual ``extract_features``: zero-crossing
rate, chroma_stft, 40 MFCCs, RMS and a 128-band mel spectrogram, each averaged over time and
stacked into one vector of 182 values per clip (whole clips here; notebooks often cut
``duration=2.5, offset=0.6``). A StandardScaler fitted on the training clips, then the
widely copied Conv1D(256-256-128-64) + Dense(32) Keras model on the (182, 1) vector, float32,
called with ``model.predict``. Trained on the same speakers as the device model, stopping on
the validation speakers (notebooks often validate on their test split; we do not).

Features and the trained model are cached under ``.cache/notebook_baseline`` (keyed by the
files' paths, sizes and mtimes, the librosa version and this recipe's version).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

SAMPLE_RATE = 22050
N_MFCC = 40
#: bump when extract_features or the model recipe changes (invalidates the cache)
RECIPE_VERSION = 1
EPOCHS = 20
BATCH_SIZE = 64
#: safety stop after this much training wall time, s (about 5 min for 20 epochs on an idle 2-core x86)
TIME_LIMIT_S = 600.0


def extract_features(data: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The notebooks' feature vector: (182,) float64 = zcr 1, chroma 12, mfcc 40, rms 1, mel 128."""
    import librosa

    zcr = np.mean(librosa.feature.zero_crossing_rate(y=data).T, axis=0)
    stft = np.abs(librosa.stft(data))
    chroma = np.mean(librosa.feature.chroma_stft(S=stft, sr=sample_rate).T, axis=0)
    mfcc = np.mean(librosa.feature.mfcc(y=data, sr=sample_rate, n_mfcc=N_MFCC).T, axis=0)
    rms = np.mean(librosa.feature.rms(y=data).T, axis=0)
    mel = np.mean(librosa.feature.melspectrogram(y=data, sr=sample_rate).T, axis=0)
    return np.hstack((zcr, chroma, mfcc, rms, mel))


def file_features(path: str) -> np.ndarray:
    """A file's feature vector, loaded as the notebooks load it (librosa.load at 22050 Hz, mono)."""
    import librosa

    data, rate = librosa.load(path, sr=SAMPLE_RATE)
    return extract_features(data, rate)


def build_model(n_features: int, n_classes: int):
    """The Conv1D notebook model: (batch, n_features, 1) float32 -> (batch, n_classes) softmax."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=(n_features, 1))])
    for i, width in enumerate((256, 256, 128, 64)):
        model.add(layers.Conv1D(width, kernel_size=5, strides=1, padding="same", activation="relu"))
        model.add(layers.MaxPooling1D(pool_size=5, strides=2, padding="same"))
        if i == 2:
            model.add(layers.Dropout(0.2))
    model.add(layers.Flatten())
    model.add(layers.Dense(32, activation="relu"))
    model.add(layers.Dropout(0.3))
    model.add(layers.Dense(n_classes, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def files_key(paths: Sequence[Path], *parts: object) -> str:
    """Hex key over the files' paths, sizes and mtimes, librosa's version and ``parts``."""
    import librosa

    digest = hashlib.sha256(f"{RECIPE_VERSION}|{librosa.__version__}|{parts}".encode())
    for p in paths:
        st = os.stat(p)
        digest.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cached_features(paths: Sequence[Path], cache_dir: Path, *, workers: int = 2) -> np.ndarray:
    """(len(paths), 182) features, from the cache or computed with ``workers`` processes; rows of
    files an earlier cache holds (another model's clips) are taken from it, not computed again."""
    cache = cache_dir / f"features-{files_key(paths)}.npy"
    if cache.is_file():
        return np.load(cache)
    known = _cached_rows(cache_dir)
    todo = [str(p) for p in paths if str(p) not in known]
    started = time.time()
    # spawned, not forked: a fork of a process whose numba/TensorFlow threads are running can crash
    # in librosa's numba code (seen in the tests), and an executor raises when a worker dies where
    # multiprocessing.Pool.map waits for it forever
    computed = {}
    if todo:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            computed = dict(zip(todo, pool.map(file_features, todo, chunksize=16)))
    features = np.stack([computed[str(p)] if str(p) in computed else known[str(p)] for p in paths])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, features)
    cache.with_suffix(".paths.json").write_text(json.dumps([str(p) for p in paths]))
    print(f"notebook baseline: features of {len(todo)} of {len(paths)} clips in {time.time() - started:.0f} s "
          f"-> {cache}", flush=True)
    return features


def _cached_rows(cache_dir: Path) -> dict[str, np.ndarray]:
    """path -> feature row from every cache whose files are unchanged (its key still matches)."""
    rows: dict[str, np.ndarray] = {}
    for listing in sorted(cache_dir.glob("features-*.paths.json")):
        listed = json.loads(listing.read_text())
        cache = listing.with_name(listing.name.replace(".paths.json", ".npy"))
        try:
            fresh = cache.is_file() and cache.stem == f"features-{files_key([Path(p) for p in listed])}"
        except OSError:  # a listed file is gone
            fresh = False
        if fresh:
            rows.update(zip(listed, np.load(cache)))
    return rows


def ensure_model(train: Sequence[tuple[Path, int]], validation: Sequence[tuple[Path, int]], n_classes: int,
                 cache_dir: Path) -> dict:
    """Train (or reuse the cached) notebook model; its paths, training time and epochs as a dict."""
    paths = [p for p, _ in train] + [p for p, _ in validation]
    key = files_key(paths, n_classes, EPOCHS, BATCH_SIZE, [y for _, y in train], [y for _, y in validation])
    model_path, info_path = cache_dir / f"model-{key}.keras", cache_dir / f"model-{key}.json"
    if model_path.is_file() and info_path.is_file():
        return json.loads(info_path.read_text())
    x = cached_features(paths, cache_dir)  # before keras: nothing of TensorFlow in the parent while the workers run
    import keras

    mean, scale = x[: len(train)].mean(axis=0), x[: len(train)].std(axis=0) + 1e-12  # StandardScaler
    xs = ((x - mean) / scale)[..., None].astype(np.float32)
    y = keras.utils.to_categorical([label for _, label in list(train) + list(validation)], n_classes)
    keras.utils.set_random_seed(0)
    model = build_model(x.shape[1], n_classes)
    started = time.time()

    def stop_when_late(epoch: int, logs: dict) -> None:
        if time.time() - started > TIME_LIMIT_S:
            model.stop_training = True

    history = model.fit(xs[: len(train)], y[: len(train)], validation_data=(xs[len(train):], y[len(train):]),
                        batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=2, callbacks=[
                            keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.4, patience=2, min_lr=1e-7),
                            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=6,
                                                          restore_best_weights=True),
                            keras.callbacks.LambdaCallback(on_epoch_end=stop_when_late)])
    model.save(model_path)
    info = {"model": str(model_path), "mean": mean.tolist(), "scale": scale.tolist(),
            "train_s": round(time.time() - started, 1), "epochs": len(history.history["loss"]),
            "best_val_accuracy": round(max(history.history["val_accuracy"]), 4),
            "val_accuracy": [round(v, 4) for v in history.history["val_accuracy"]],
            "train_clips": len(train), "validation_clips": len(validation), "params": model.count_params(),
            "weight_bytes": 4 * model.count_params()}  # float32
    info_path.write_text(json.dumps(info))
    return info

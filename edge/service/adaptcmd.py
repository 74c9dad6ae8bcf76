"""`ser-edge adapt show | reset | enrol FILE...`: the speaker statistics a listener keeps.

Each command finds the model and the state file as `ser-edge listen` would (``--config``,
``--model``, ``--state``), so it reads and writes the very file the service uses. A running
listener notices the new file at its next save (within ``adaptation_save_s``), at SIGHUP or
at exit, and takes it instead of saving over it. A file that cannot be written (a read-only
disk, a folder of another user) is a ConfigError (exit status 78), never a success; so is
anything but a regular file at the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

from ser_edge.errors import ConfigError, SerEdgeError
from ser_edge.listen.adapter import Adapter
from ser_edge.listen.recognizer import Recognizer

from .adaptstore import AdaptStore, default_state_path


def open_state(config_path: Optional[Path], model: Optional[Path], state: Optional[Path],
               mode: str = "on") -> tuple[Recognizer, Adapter, AdaptStore, str]:
    """(recognizer, adapter restored from the file, store, what the load said); ConfigError if the
    model does not adapt."""
    from ser_edge.config.load import load_settings

    settings = load_settings(config_path)
    recognizer = Recognizer(str(model) if model else (settings.model.path or None))
    adapter = recognizer.new_adapter(mode)
    if adapter is None:
        raise ConfigError(f"{recognizer.bundle.path}: this model normalises each window on its own "
                          "(no speaker statistics to show, reset or enrol)")
    store = AdaptStore(Path(state) if state else default_state_path(settings.adaptation_state))
    return recognizer, adapter, store, store.load(adapter)


def show(adapter: Adapter, store: AdaptStore, note: str) -> dict:
    """What the statistics rest on, and where they are; ``segments``: the utterances the segment
    statistics learnt (0 without any: a window model's, or none decided yet)."""
    segments = adapter.segments.segments if adapter.segments is not None else 0
    return {"state_file": str(store.path), "model": adapter.params.stable_hash(), "load": note, **adapter.summary(),
            "segments": segments}


def reset(adapter: Adapter, store: AdaptStore) -> dict:
    """Start again from the prior (written to the file; ConfigError if it cannot be)."""
    store.reset(adapter)
    return show(adapter, store, "reset to the prior")


def enrol(recognizer: Recognizer, adapter: Adapter, store: AdaptStore, files: Sequence[Path],
          report: Callable[[str], None]) -> tuple[dict, list[str]]:
    """Learn from the voiced speech of recordings of the user, then save (ConfigError if that fails);
    (summary, failures)."""
    failures = []
    for path in files:
        before = adapter.stats.heard_s
        try:
            recognizer.classify_file(path, adapter=adapter)
        except SerEdgeError as exc:
            failures.append(str(exc))
            report(f"skipped {exc}")
            continue
        report(f"{path}: {adapter.stats.heard_s - before:.1f} s of speech")
    store.write(adapter)
    return show(adapter, store, f"enrolled {len(files) - len(failures)} file(s)"), failures

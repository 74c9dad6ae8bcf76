"""The speaker statistics on disk: one small JSON file in the service's state directory.

Written atomically (`ser_edge.service.statefile`: a temporary file with an unpredictable name
opened exclusively, fsync, rename, fsync of the folder), so a power cut leaves the old file or
the new one, never half of one. Only a regular file (or nothing) at the path is ever read, set
aside or replaced: anything else is a ConfigError (exit status 78). The listener saves at most
every ``save_interval_s`` (60 s) while the statistics change, and at SIGHUP and at exit, so a
restart or a power cut loses at most that much learning. Before it saves, it looks whether the
file changed on disk since it last read or wrote it (`ser-edge adapt reset`, `enrol`): then it
takes that file instead of saving over it.

A file that cannot be parsed, is not ours, holds statistics no audio can make
(`ser_edge.service.adaptcheck`), or belongs to another model's feature parameters (its
``feature_params_hash`` differs: the statistics would mean something else) is set aside,
renamed to ``<name>.corrupt-<time>`` or ``<name>.foreign-<hash>``, with a warning, and the
statistics start again from the prior. It is never trusted.

Statistics are the speaker's and the microphone's, not the model's: a file written under
another bundle with the same feature parameters (the 7-class and the 4-class model) is
kept, and what is left in it of that bundle's prior (it fades with speech) is replaced by
this bundle's prior. Files written before the prior was saved in them are taken as they are.
The speaker's segment statistics (``segments``, for a bundle with an utterance head) are kept too:
a file without them loads with none; unusable ones are dropped with a warning (`adaptcheck`).

Location: the ``adaptation_state`` setting; '' = ``$STATE_DIRECTORY/adaptation.json`` under
systemd (/var/lib/ser-edge), else ``$XDG_STATE_HOME/ser-edge/adaptation.json``
(~/.local/state/ser-edge).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Optional

import numpy as np

from ser_edge.errors import ConfigError, shown
from ser_edge.frontend.normalise import Prior, RunningStats
from ser_edge.listen.adapter import Adapter

from .adaptcheck import implausible, saved_segments
from .statefile import Seen, StateLock, check_path, format_time, parse_time, read_state, seen, write_atomic

log = logging.getLogger(__name__)

FORMAT = "ser-edge-adaptation"
VERSION = 1
FILE_NAME = "adaptation.json"
MAX_BYTES = 1 << 16
#: what loading a file may raise from its content: each is a corrupt file, set aside
CONTENT_ERRORS = (KeyError, TypeError, ValueError, OverflowError, RecursionError)


def default_state_path(setting: str = "") -> Path:
    """Where the statistics live: the setting, else the systemd state directory, else XDG state."""
    if setting:
        return Path(setting)
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / FILE_NAME
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ser-edge" / FILE_NAME


class AdaptStore:
    """Load, save and reset one adapter's statistics at ``path``, keyed by the model's parameters.

    ``read_only`` (another listener holds the file's lock): loads at start, never writes.
    """

    def __init__(self, path: Path, *, save_interval_s: float = 60.0, clock=time.monotonic):
        self.path, self.save_interval_s, self._clock = Path(path), float(save_interval_s), clock
        self._last_save = clock()
        self.set_aside: Optional[Path] = None  # where the last refused file went
        self.read_only = False
        self._seen: Optional[Seen] = None  # the file as this process last read or wrote it (None: none)

    # ----- reading -------------------------------------------------------------------------------
    def load(self, adapter: Adapter) -> str:
        """Restore ``adapter`` from the file if it is sound and ours; returns what happened, in words.
        ConfigError if something other than a regular file stands at the path (nothing is touched)."""
        if adapter.mode == "off":
            return "adaptation off: the prior alone"
        check_path(self.path)
        try:
            raw, self._seen = read_state(self.path, MAX_BYTES)
        except FileNotFoundError:  # (a running listener whose file was deleted: a reset)
            self._seen = None
            adapter.reset()
            return f"no statistics at {shown(self.path)} yet: starting from the prior"
        except OSError as exc:
            self._seen = seen(self.path)
            adapter.reset()
            log.warning("adaptation: cannot read %s (%s); starting from the prior", shown(self.path),
                        exc.strerror or exc)
            return f"cannot read {shown(self.path)}: starting from the prior"
        try:
            data = _parse(raw)
        except ValueError as exc:
            return self._refuse(adapter, "corrupt", f"not a usable statistics file ({exc})")
        mine = adapter.params.stable_hash()
        if data.get("feature_params_hash") != mine:
            other = data["feature_params_hash"][:16]
            return self._refuse(adapter, f"foreign-{''.join(c for c in other if c.isalnum()) or 'unknown'}",
                                f"statistics of another model's parameters ({other}, this model {mine})")
        try:
            stats = RunningStats.for_params(adapter.params, adapter.prior).load(data["stats"])
            since = parse_time(data["since"])
            saved_prior = Prior.from_dict(data["prior"], adapter.params.n_mfcc) if "prior" in data else None
            other_prior = saved_prior is not None and not _same_prior(saved_prior, adapter.prior)
            if other_prior:  # another bundle with these feature parameters: keep the speaker, swap the prior
                stats.rebase(saved_prior)
            why = implausible(stats, adapter.prior, adapter.params)
        except CONTENT_ERRORS as exc:
            return self._refuse(adapter, "corrupt", f"unusable statistics ({exc})")
        if why:
            return self._refuse(adapter, "corrupt", f"implausible statistics ({why})")
        adapter.restore(stats, since)
        adapter.segments, dropped = saved_segments(data.get("segments"), adapter.params)
        if dropped:
            log.warning("adaptation: %s: %s; they start again from the prior", shown(self.path), dropped)
        return (f"statistics from {shown(self.path)}: {stats.speech_s:.0f} s of speech since {data['since']}"
                + (" (learnt under another model's prior: its share replaced by this model's)" if other_prior else ""))

    def _refuse(self, adapter: Adapter, kind: str, why: str) -> str:
        adapter.reset()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.{kind}-{stamp}" if kind == "corrupt" else f"{self.path.name}.{kind}")
        try:
            if seen(self.path) != self._seen:  # replaced since it was read: that one is not the one judged
                raise FileExistsError(0, "it changed while it was read")
            os.replace(self.path, target)
            self.set_aside, self._seen = target, None
        except OSError as exc:
            log.warning("adaptation: cannot set %s aside (%s)", shown(self.path), exc.strerror or exc)
            target = self.path
        log.warning("adaptation: %s: %s; set aside as %s, starting from the prior", shown(self.path), why,
                    shown(target.name))
        return f"{shown(self.path)}: {why}; set aside as {shown(target.name)}, starting from the prior"

    # ----- writing -------------------------------------------------------------------------------
    def write(self, adapter: Adapter) -> None:
        """Write the statistics now (atomically); ConfigError naming the file if that fails."""
        data = {"format": FORMAT, "version": VERSION, "feature_params_hash": adapter.params.stable_hash(),
                "since": format_time(adapter.since), "saved": format_time(time.time()),
                "prior": adapter.prior.to_dict(), "stats": adapter.stats.to_dict(),
                **({"segments": adapter.segments.to_dict()} if adapter.segments is not None else {})}
        try:
            self._seen = write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode())
        except OSError as exc:
            raise ConfigError(f"adaptation_state {shown(self.path)}: cannot save the statistics "
                              f"({exc.strerror or exc}); the file was not changed") from None
        adapter.dirty = False

    def save(self, adapter: Adapter) -> bool:
        """Write the statistics now unless mode off or read-only; a failure is logged, never raised."""
        self._last_save = self._clock()
        if adapter.mode == "off" or self.read_only:
            return False
        try:
            self.write(adapter)
        except ConfigError as exc:
            log.warning("adaptation: %s", exc)
            return False
        return True

    def sync(self, adapter: Adapter) -> None:
        """The listener's save. If the file changed on disk since this process last read or wrote it
        (`ser-edge adapt reset` or `enrol`), take it instead of saving over it: the user's command
        wins over what was learnt meanwhile. Else save if the statistics changed. Never raises."""
        self._last_save = self._clock()
        if adapter.mode == "off" or self.read_only:
            return
        if seen(self.path) != self._seen:
            try:
                note = self.load(adapter)
            except ConfigError as exc:
                log.warning("adaptation: %s; not saved", exc)
                return
            log.info("adaptation: %s changed on disk (adapt reset or enrol?): taken instead of saved over; %s",
                     shown(self.path), note)
        elif adapter.dirty:
            self.save(adapter)

    def maybe_save(self, adapter: Adapter) -> bool:
        """`sync` if ``save_interval_s`` has passed since the last one and the statistics changed
        here or on disk; whether it ran."""
        if self._clock() - self._last_save < self.save_interval_s:
            return False
        self._last_save = self._clock()
        if adapter.dirty or (adapter.mode != "off" and seen(self.path) != self._seen):
            self.sync(adapter)
            return True
        return False

    def reset(self, adapter: Adapter) -> None:
        """Start the statistics again from the prior, on disk too (ConfigError if it cannot be written)."""
        adapter.reset()
        self.write(adapter)


def _same_prior(a: Prior, b: Prior) -> bool:
    # the file keeps floats as JSON writes them: a round trip of float64 is exact
    return bool(np.array_equal(a.mean, b.mean) and np.array_equal(a.var, b.var))


def _parse(raw: bytes) -> dict:
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: arrays nested 10,000 deep
        raise ValueError(f"not JSON: {type(exc).__name__ if isinstance(exc, RecursionError) else exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    if not isinstance(data.get("feature_params_hash"), str):
        raise ValueError("no feature_params_hash")
    if data.get("version") != VERSION:
        raise ValueError(f"version {data.get('version')!r}, this ser-edge reads {VERSION}")
    return data


class AdaptSession:
    """The listener's adapter and its store across reloads (a few calls from the daemon).

    `adapter_for` gives the adapter for a new pipeline: None for a model that does not
    adapt; the running one (keeping what it learnt) while the model, the file and the
    parameters stay; else a new one loaded from the state file. `tick` saves at most every
    ``adaptation_save_s``; `sync` now (SIGHUP); `close` at exit. A learning listener (mode on)
    holds the file's lock; when another listener holds it, this one loads the statistics and
    learns in memory but never writes the file (a warning names the other's pid).
    """

    def __init__(self) -> None:
        self.adapter: Optional[Adapter] = None
        self.store: Optional[AdaptStore] = None
        self.lock: Optional[StateLock] = None

    def adapter_for(self, settings, classifier) -> Optional[Adapter]:
        """ConfigError (the running adapter stays) if something other than a regular file is at the path."""
        bundle = classifier.bundle
        if not bundle.adaptive:
            self.close()
            return None
        path = default_state_path(settings.adaptation_state)
        same = (self.adapter is not None and self.store is not None and self.store.path == path
                and self.adapter.params == bundle.params and self.adapter.mode == settings.adaptation)
        if same:
            self.store.save_interval_s = settings.adaptation_save_s
            return self.adapter
        self.sync()
        adapter = Adapter(bundle.params, bundle.prior, settings.adaptation)
        store = AdaptStore(path, save_interval_s=settings.adaptation_save_s)
        if settings.adaptation != "off":  # (off never reads or writes the file)
            check_path(path)  # first: nothing (no lock file either) is made beside a device node
        lock, holder = self._lock_for(path, settings.adaptation)
        store.read_only = holder is not None
        try:
            note = store.load(adapter)
        except BaseException:
            if lock is not None and lock is not self.lock:
                lock.release()
            raise
        if self.lock is not None and self.lock is not lock:
            self.lock.release()
        self.adapter, self.store, self.lock = adapter, store, lock
        log.info("adaptation %s: %s", settings.adaptation, note)
        if holder is not None:
            log.warning("adaptation: %s is in use by another listener (%s): this one loaded the statistics and "
                        "learns, but never saves them; stop the other one, or give this one its own "
                        "adaptation_state", shown(path), holder)
        return self.adapter

    def _lock_for(self, path: Path, mode: str) -> tuple[Optional[StateLock], Optional[str]]:
        """(the lock for a listener learning into ``path``, or None; who else holds it, or None)."""
        if mode != "on":
            return None, None  # frozen and off never write the file
        lock = StateLock(path)
        if self.lock is not None and self.lock.path == lock.path:
            return self.lock, None
        holder = lock.acquire()
        return (lock, None) if holder is None else (None, holder)

    def tick(self) -> None:
        if self.adapter is not None and self.store is not None:
            self.store.maybe_save(self.adapter)

    def sync(self) -> None:
        """Save now, or take the file if it changed on disk (`AdaptStore.sync`)."""
        if self.adapter is not None and self.store is not None:
            self.store.sync(self.adapter)

    def close(self) -> None:
        """`sync`, then let go of the file and its lock."""
        self.sync()
        if self.lock is not None:
            self.lock.release()
        self.adapter = self.store = self.lock = None

"""The speaker statistics on disk: one small JSON file in the service's state directory.

Written atomically (a temporary file in the same folder, fsync, rename, fsync of the
folder), so a power cut leaves the old file or the new one, never half of one. The
listener saves at most every ``save_interval_s`` (60 s) while the statistics change, and
at SIGHUP and at exit, so a restart or a power cut loses at most that much learning.

A file that cannot be read, is not ours, or belongs to another model's feature parameters
(its ``feature_params_hash`` differs: the statistics would mean something else) is set
aside, renamed to ``<name>.corrupt-<time>`` or ``<name>.foreign-<hash>``, with a warning,
and the statistics start again from the prior. It is never trusted.

Statistics are the speaker's and the microphone's, not the model's: a file written under
another bundle with the same feature parameters (the 7-class and the 4-class model) is
kept, and what is left in it of that bundle's prior (it fades with speech) is replaced by
this bundle's prior. Files written before the prior was saved in them are taken as they are.

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

from ser_edge.frontend.normalise import Prior, RunningStats
from ser_edge.listen.adapter import Adapter

log = logging.getLogger(__name__)

FORMAT = "ser-edge-adaptation"
VERSION = 1
FILE_NAME = "adaptation.json"
MAX_BYTES = 1 << 16
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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
    """Load, save and reset one adapter's statistics at ``path``, keyed by the model's parameters."""

    def __init__(self, path: Path, *, save_interval_s: float = 60.0, clock=time.monotonic):
        self.path, self.save_interval_s, self._clock = Path(path), float(save_interval_s), clock
        self._last_save = clock()
        self.set_aside: Optional[Path] = None  # where the last refused file went

    # ----- reading -------------------------------------------------------------------------------
    def load(self, adapter: Adapter) -> str:
        """Restore ``adapter`` from the file if it is sound and ours; returns what happened, in words."""
        if adapter.mode == "off":
            return "adaptation off: the prior alone"
        try:
            with open(self.path, "rb") as f:
                raw = f.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return f"no statistics at {self.path} yet: starting from the prior"
        except OSError as exc:
            log.warning("adaptation: cannot read %s (%s); starting from the prior", self.path, exc.strerror or exc)
            return f"cannot read {self.path}: starting from the prior"
        try:
            data = _parse(raw)
        except ValueError as exc:
            return self._refuse("corrupt", f"not a usable statistics file ({exc})")
        mine = adapter.params.stable_hash()
        if data.get("feature_params_hash") != mine:
            other = data["feature_params_hash"][:16]
            return self._refuse(f"foreign-{''.join(c for c in other if c.isalnum()) or 'unknown'}",
                                f"statistics of another model's parameters ({other}, this model {mine})")
        import calendar  # here: a listener without a statistics file need not import it

        try:
            stats = RunningStats.for_params(adapter.params, adapter.prior).load(data["stats"])
            since = float(calendar.timegm(time.strptime(data["since"], TIME_FORMAT)))
            saved_prior = Prior.from_dict(data["prior"], adapter.params.n_mfcc) if "prior" in data else None
        except (KeyError, TypeError, ValueError) as exc:
            return self._refuse("corrupt", f"unusable statistics ({exc})")
        other_prior = saved_prior is not None and not _same_prior(saved_prior, adapter.prior)
        if other_prior:  # another bundle with these feature parameters: keep the speaker, swap the prior
            stats.rebase(saved_prior)
        adapter.restore(stats, since)
        return (f"statistics from {self.path}: {stats.speech_s:.0f} s of speech since {data['since']}"
                + (" (learnt under another model's prior: its share replaced by this model's)" if other_prior else ""))

    def _refuse(self, kind: str, why: str) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.{kind}-{stamp}" if kind == "corrupt" else f"{self.path.name}.{kind}")
        try:
            os.replace(self.path, target)
            self.set_aside = target
        except OSError as exc:
            log.warning("adaptation: cannot set %s aside (%s)", self.path, exc.strerror or exc)
            target = self.path
        log.warning("adaptation: %s: %s; set aside as %s, starting from the prior", self.path, why, target.name)
        return f"{self.path}: {why}; set aside as {target.name}, starting from the prior"

    # ----- writing -------------------------------------------------------------------------------
    def save(self, adapter: Adapter) -> None:
        """Write the statistics now (atomically); OSError is logged, never raised."""
        self._last_save = self._clock()
        if adapter.mode == "off":
            return
        data = {"format": FORMAT, "version": VERSION, "feature_params_hash": adapter.params.stable_hash(),
                "since": time.strftime(TIME_FORMAT, time.gmtime(adapter.since)),
                "saved": time.strftime(TIME_FORMAT, time.gmtime()), "prior": adapter.prior.to_dict(),
                "stats": adapter.stats.to_dict()}
        try:
            write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode())
            adapter.dirty = False
        except OSError as exc:
            log.warning("adaptation: cannot save %s (%s)", self.path, exc.strerror or exc)

    def maybe_save(self, adapter: Adapter) -> bool:
        """Save if the statistics changed and ``save_interval_s`` has passed since the last save."""
        if adapter.dirty and self._clock() - self._last_save >= self.save_interval_s:
            self.save(adapter)
            return True
        return False

    def reset(self, adapter: Adapter) -> None:
        """Start the statistics again from the prior, on disk too."""
        adapter.reset()
        adapter.dirty = True
        self.save(adapter)


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace ``path`` by ``payload``: temporary file, fsync, rename, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _same_prior(a: Prior, b: Prior) -> bool:
    # the file keeps floats as JSON writes them: a round trip of float64 is exact
    return bool(np.array_equal(a.mean, b.mean) and np.array_equal(a.var, b.var))


def _parse(raw: bytes) -> dict:
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
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
    ``adaptation_save_s``; `save` now (SIGHUP, exit).
    """

    def __init__(self) -> None:
        self.adapter: Optional[Adapter] = None
        self.store: Optional[AdaptStore] = None

    def adapter_for(self, settings, classifier) -> Optional[Adapter]:
        bundle = classifier.bundle
        if not bundle.adaptive:
            self.save()
            self.adapter = self.store = None
            return None
        path = default_state_path(settings.adaptation_state)
        same = (self.adapter is not None and self.store is not None and self.store.path == path
                and self.adapter.params == bundle.params and self.adapter.mode == settings.adaptation)
        if same:
            self.store.save_interval_s = settings.adaptation_save_s
            return self.adapter
        self.save()
        self.adapter = Adapter(bundle.params, bundle.prior, settings.adaptation)
        self.store = AdaptStore(path, save_interval_s=settings.adaptation_save_s)
        log.info("adaptation %s: %s", settings.adaptation, self.store.load(self.adapter))
        return self.adapter

    def tick(self) -> None:
        if self.adapter is not None and self.store is not None:
            self.store.maybe_save(self.adapter)

    def save(self) -> None:
        if self.adapter is not None and self.store is not None and self.adapter.dirty:
            self.store.save(self.adapter)

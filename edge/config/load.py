"""Configuration: a TOML file plus command-line overrides, checked key by key into `Settings`.

Order of precedence: built-in defaults < the file (``--config``) < flags. Every key is
checked against its `Spec` at start, and a problem is one `ConfigError` (exit status 78)
naming the file or flag, the key, the value and what is allowed. Unknown keys are errors,
so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any, Mapping, Optional

from ser_edge.errors import ConfigError
from ser_edge.events import EVENT_NAMES
from ser_edge.smallfile import NotRegularFile, read_regular

from .schema import Invalid, Spec, check
from .settings import Settings, iter_specs, unknown_event_types
from .versioned import brief

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

Key = tuple[str, ...]

#: largest configuration file read, bytes
MAX_CONFIG_BYTES = 1 << 20


def flag_for(key: Key, spec: Spec) -> str:
    """The command-line flag of a key: its spec's, or derived from the key path."""
    if spec.flag is not None:
        return spec.flag
    if key[0] == "audio":
        parts = key[1:]  # audio flags are the common ones: keep them short
    elif key[0] == "sinks":
        parts = key[1:]
    else:
        parts = key
    return "--" + "-".join(parts).replace("_", "-")


def dotted(key: Key) -> str:
    return ".".join(key)


SPECS: dict[Key, Spec] = {key: spec for key, spec, _ in iter_specs()}
FLAGS: dict[Key, str] = {key: flag_for(key, spec) for key, spec in SPECS.items()}


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a TOML file; ConfigError naming the file (and the line, for syntax errors)."""
    name = str(path)
    try:
        data = read_regular(name, MAX_CONFIG_BYTES)  # a FIFO or a device is refused, never waited on
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{name}: larger than {MAX_CONFIG_BYTES >> 20} MB; not a configuration file")
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{name}: configuration file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a directory, not a configuration file") from None
    except PermissionError:
        raise ConfigError(f"{name}: cannot read the configuration file (permission denied)") from None
    except NotRegularFile as exc:
        raise ConfigError(f"{name}: {exc.strerror}, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read the configuration file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not valid TOML: not UTF-8 text") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{name}: arrays or inline tables nested too deeply (no key takes more than a "
                          "list or a table of values)") from None


def load_settings(path: Optional[str | os.PathLike] = None, overrides: Optional[Mapping[Key, Any]] = None) -> Settings:
    """Settings from defaults, the TOML file at ``path`` (if any) and ``overrides`` (key path -> value)."""
    values: dict[Key, Any] = {}
    if path is not None:
        raw = read_toml(path)
        _collect(raw, (), values, origin=str(path))
    for key, value in (overrides or {}).items():
        if key not in SPECS:
            raise ConfigError(f"unknown setting {dotted(key)}")
        values[key] = _checked(key, value, f"command line ({FLAGS[key]})")
    settings = _build(Settings, (), values)
    _cross_check(settings, origin=str(path) if path is not None else "command line")
    return settings


def _collect(table: Mapping[str, Any], prefix: Key, out: dict[Key, Any], *, origin: str) -> None:
    """Check every key of a parsed TOML table (recursively) into ``out``."""
    sections = {k[len(prefix)] for k in SPECS if len(k) > len(prefix) + 1 and k[: len(prefix)] == prefix}
    keys = {k[len(prefix)] for k in SPECS if len(k) == len(prefix) + 1 and k[: len(prefix)] == prefix}
    for name, value in table.items():
        key = prefix + (name,)
        if name in sections:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{origin}: {dotted(key)} must be a table ([{dotted(key)}]), got {brief(value)}")
            _collect(value, key, out, origin=origin)
        elif name in keys:
            out[key] = _checked(key, value, origin)
        else:
            where = f"[{dotted(prefix)}]" if prefix else "the top level"
            allowed = ", ".join(sorted(keys | sections))
            raise ConfigError(f"{origin}: unknown key {brief(dotted(key))}; allowed in {where}: {allowed}")


def _checked(key: Key, value: Any, origin: str) -> Any:
    spec = SPECS[key]
    try:
        return check(value, spec)
    except Invalid as exc:
        raise ConfigError(f"{origin}: {dotted(key)} = {_show(value, spec)} is invalid; allowed: {exc}") from None


def _build(cls: type, prefix: Key, values: Mapping[Key, Any]) -> Any:
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = prefix + (f.name,)
        if "section" in f.metadata:
            kwargs[f.name] = _build(f.metadata["section"], key, values)
        elif key in values:
            kwargs[f.name] = values[key]
    return cls(**kwargs)


def _cross_check(s: Settings, *, origin: str) -> None:
    """Checks that involve more than one key."""
    def fail(key: str, message: str) -> None:
        raise ConfigError(f"{origin}: {key}: {message}")

    if s.audio.reopen_min_s > s.audio.reopen_max_s:
        fail("audio.reopen_min_s", f"{s.audio.reopen_min_s:g} s is longer than audio.reopen_max_s "
             f"({s.audio.reopen_max_s:g} s)")
    if s.audio.source == "file" and not s.audio.file:
        fail("audio.file", "source 'file' needs a file (audio.file or --from-wav PATH)")
    for name in (f.name for f in dataclasses.fields(s.sinks)):  # every [sinks.*] section
        unknown = unknown_event_types(getattr(s.sinks, name).event_types)
        if unknown:
            fail(f"sinks.{name}.event_types", f"unknown event type(s) {', '.join(map(repr, unknown))}; "
                 f"allowed: {', '.join(EVENT_NAMES)}")
    if s.sinks.mqtt.password and not s.sinks.mqtt.username:
        fail("sinks.mqtt.password", "a password needs sinks.mqtt.username")
    if s.sinks.mqtt.password_file and not s.sinks.mqtt.username:
        fail("sinks.mqtt.password_file", "a password file needs sinks.mqtt.username")
    if s.sinks.mqtt.password and s.sinks.mqtt.password_file:
        fail("sinks.mqtt.password_file", "give the password or a password file, not both")
    if s.sinks.webhook.url and not s.sinks.webhook.url.startswith(("http://", "https://")):
        fail("sinks.webhook.url", f"{s.sinks.webhook.url!r} must start with http:// or https://")


def _show(value: Any, spec: Spec) -> str:
    return "'***'" if spec.secret else brief(value)


# ----- rendering ------------------------------------------------------------------------------
def render(settings: Settings, *, docs: bool = False) -> str:
    """The settings as TOML (secrets shown as "***"), optionally with each key's doc as a comment."""
    lines: list[str] = []
    current: Optional[Key] = None
    for key, spec, _ in iter_specs():
        table = key[:-1]
        if table != current:
            if table:
                lines += ["", f"[{dotted(table)}]"]
            current = table
        value = _value_at(settings, key)
        if docs:
            lines.append(f"# {spec.doc}")
        shown = '"***"' if spec.secret and value else toml_value(value)
        lines.append(f"{key[-1]} = {shown}")
    return "\n".join(lines) + "\n"


def _value_at(settings: Settings, key: Key) -> Any:
    obj: Any = settings
    for part in key:
        obj = getattr(obj, part)
    return obj


def toml_value(value: Any) -> str:
    """One value in TOML syntax: strings, numbers, booleans, lists of strings, tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + (f" {inner} " if inner else "") + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")

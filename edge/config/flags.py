"""Command-line flags for every configuration key, generated from the settings schema.

Each key gets the flag its `Spec` names (see `ser_edge.config.load.FLAGS`); a flag left out is
None and does not override the file. Values are converted here to what the TOML file
would hold and then checked by the same code as the file (`load_settings`), so the
messages are the same too. Lists are comma-separated (``--mqtt-event-types emotion,status``),
the command hook is one shell-quoted string, tables are repeated ``KEY=VALUE`` flags.
"""

from __future__ import annotations

import logging
import shlex
from typing import Any, Callable, Optional

import click

from .load import FLAGS, SPECS, Key
from .schema import Spec

#: help headings, by the first part of a key (sinks by their second)
GROUPS = {"audio": "Audio source", "model": "Model", "gate": "Voice gate", "smoothing": "Decisions",
          "clips": "Saving clips", "sinks": "Outputs", "spool": "Spool", "": "General"}
log = logging.getLogger(__name__)
#: where a secret given as a flag should live instead (every local user sees flags in `ps`)
SECRET_HOMES = {
    ("sinks", "mqtt", "password"): "sinks.mqtt.password_file (--mqtt-password-file, a file of mode 0600)",
    ("sinks", "webhook", "headers"): "[sinks.webhook] headers in a --config file only the service may read (0600)",
}
#: short flags, as the other commands have them (`classify -m`, `info -m`)
SHORT = {("model", "path"): "-m"}


def param_name(key: Key) -> str:
    return "cfg__" + "__".join(key)


def schema_options(func: Callable) -> Callable:
    """Decorate a click command with one option per configuration key."""
    for key in reversed(list(SPECS)):
        func = _option(key, SPECS[key])(func)
    return func


def _option(key: Key, spec: Spec) -> Callable:
    flag = FLAGS[key]
    common: dict[str, Any] = {"default": None, "help": f"{spec.doc} (config: {'.'.join(key)})"}
    if spec.kind == "bool":
        decls = [f"{flag}/--no-{flag[2:]}", param_name(key)]
        option = click.option(*decls, **common)
    elif spec.kind in ("str_map", "header_map", "number_map"):
        option = click.option(flag, param_name(key), multiple=True, metavar="KEY=VALUE",
                              **{**common, "default": ()})
    else:
        types = {"number": float, "int": int, "str": str, "str_list": str,
                 "choice": click.Choice(spec.choices) if spec.choices else str}
        decls = [SHORT[key]] if key in SHORT else []
        option = click.option(*decls, flag, param_name(key), type=types[spec.kind], **common)

    def decorate(func: Callable) -> Callable:
        func = option(func)
        func.__click_params__[-1].group = GROUPS.get(key[0] if len(key) > 1 else "", "General")  # type: ignore[attr-defined]
        return func

    return decorate


def overrides_from(options: dict[str, Any]) -> dict[Key, Any]:
    """{key path: value} for every generated flag that was given; UsageError for a malformed one."""
    out: dict[Key, Any] = {}
    for key, spec in SPECS.items():
        raw = options.get(param_name(key))
        if raw is None or (isinstance(raw, tuple) and not raw):
            continue
        out[key] = _convert(key, spec, raw)
    return out


def _convert(key: Key, spec: Spec, raw: Any) -> Any:
    if spec.kind == "str_list":
        if key[-1] == "argv":
            return shlex.split(raw)
        return [part.strip() for part in raw.split(",") if part.strip()]
    if spec.kind in ("str_map", "header_map", "number_map"):
        table: dict[str, Any] = {}
        for item in raw:
            name, sep, value = item.partition("=") if "=" in item else item.partition(":")
            if not sep or not name.strip():
                raise click.UsageError(f"{FLAGS[key]} {item!r}: expected KEY=VALUE")
            table[name.strip()] = _number(key, value.strip()) if spec.kind == "number_map" else value.strip()
        return table
    return raw


def _number(key: Key, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise click.UsageError(f"{FLAGS[key]}: {text!r} is not a number") from None


class GroupedHelpCommand(click.Command):
    """A command whose --help lists options under headings (audio, model, gate, ...)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                groups.setdefault(getattr(param, "group", "Options"), []).append(record)
        for heading in ["Options"] + [g for g in dict.fromkeys(GROUPS.values()) if g in groups]:
            if heading in groups:
                with formatter.section(heading):
                    formatter.write_dl(groups[heading])


def source_overrides(use_stdin: bool, overrides: dict[Key, Any]) -> Optional[str]:
    """Shortcut flags choose the source: --stdin, --from-wav PATH, --mic DEVICE; conflicts are usage errors."""
    chosen = []
    if use_stdin:
        chosen.append(("--stdin", "stdin"))
    if ("audio", "file") in overrides:
        chosen.append(("--from-wav", "file"))
    if ("audio", "device") in overrides:
        chosen.append(("--mic", "microphone"))
    if len(chosen) > 1:
        raise click.UsageError(f"choose one source: {' / '.join(flag for flag, _ in chosen)}")
    if ("audio", "source") in overrides and chosen and overrides[("audio", "source")] != chosen[0][1]:
        raise click.UsageError(f"--source {overrides[('audio', 'source')]} contradicts {chosen[0][0]}")
    if chosen:
        overrides[("audio", "source")] = chosen[0][1]
        return chosen[0][1]
    return None


def warn_secret_flags(overrides: dict[Key, Any]) -> list[str]:
    """Log one warning per secret given on the command line, where every local user can read it
    (`ps`, /proc/PID/cmdline); the warnings, for tests."""
    lines = []
    for key, home in SECRET_HOMES.items():
        if overrides.get(key):
            lines.append(f"{FLAGS[key]} is visible to every local user (ps, /proc/PID/cmdline); use {home}")
            log.warning("%s", lines[-1])
    return lines

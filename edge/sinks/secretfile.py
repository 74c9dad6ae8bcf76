"""Reading a secret (an MQTT password) from a file that only the service may read.

The rule, checked on the open file (no race between the check and the read):
* a regular file, owned by root or by the user ser-edge runs as (another owner could
  loosen its mode later);
* no access at all for other users, and no write access for the group;
* group read only when root owns the file and its group is the service's own (primary)
  group: ``root:ser-edge 0640`` under the shipped systemd unit, which makes the file
  readable by the service and changeable by root alone.
So ``0600``/``0400`` owned by the service user or root, or ``root:ser-edge 0640``.
Anything else is a ConfigError (exit status 78) naming the file, its mode and owner.
The secret is the file's first line without its line ending.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat

from ser_edge.errors import ConfigError, shown

#: longest secret file read, bytes
MAX_BYTES = 4096


def read_secret_file(path: str, what: str) -> str:
    """The first line of ``path`` if the file passes the rule above (``what`` names it in errors)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)  # a FIFO must not block the open
    except OSError as exc:
        raise ConfigError(f"{what} {shown(path)}: cannot open it ({exc.strerror or exc})") from None
    try:
        check_private(os.fstat(fd), path, what)
        data = os.read(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{what} {shown(path)}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{what} {shown(path)}: longer than {MAX_BYTES} bytes; not a password file")
    try:
        secret = data.decode("utf-8").split("\n")[0].rstrip("\r")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {shown(path)}: not UTF-8 text") from None
    if not secret:
        raise ConfigError(f"{what} {shown(path)}: the first line is empty")
    return secret


def check_private(st: os.stat_result, path: str, what: str) -> None:
    """ConfigError unless a file with this stat may hold a secret for this process (see the module doc)."""
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{what} {shown(path)}: not a regular file")
    me, my_group = os.geteuid(), os.getegid()
    mode = stat.S_IMODE(st.st_mode)
    group_read_ok = st.st_uid == 0 and st.st_gid == my_group
    problem = None
    if st.st_uid not in (0, me):
        problem = f"it belongs to {_user(st.st_uid)}, not to {'root' if me == 0 else _user(me) + ' or root'}"
    elif mode & 0o007:
        problem = "other users may access it"
    elif mode & 0o020:
        problem = "its group may change it"
    elif mode & 0o040 and not group_read_ok:
        problem = f"group {_group(st.st_gid)} may read it"
    if problem:
        owners = "root" if me == 0 else f"{_user(me)} or root"
        raise ConfigError(
            f"{what} {shown(path)}: refused, {problem} (mode {mode:04o}, {_user(st.st_uid)}:{_group(st.st_gid)}); "
            f"allowed: 0600 owned by {owners}, or 0640 owned by root:{_group(my_group)}")


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)

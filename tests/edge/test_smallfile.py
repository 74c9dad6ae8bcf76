"""`ser_edge.smallfile.read_regular`: a small regular file is read; a FIFO, a device, a socket or a
folder is refused at once (never waited on, a device never opened), and a huge file is read only
to one byte past the limit."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest

from ser_edge.smallfile import NotRegularFile, kind_of, read_regular


def test_a_regular_file_is_read_up_to_one_byte_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_regular(path, 1000) == b"x" * 100
    assert read_regular(path, 10) == b"x" * 11


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(NotRegularFile, match="is a FIFO"):
        read_regular(fifo, 100)
    assert time.monotonic() - start < 1.0


def test_a_device_node_and_a_socket_are_refused(tmp_path: Path) -> None:
    node = tmp_path / "null"  # a private node, never the machine's /dev/null
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    with pytest.raises(NotRegularFile, match="is a character device"):
        read_regular(node, 100)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock"))
        with pytest.raises(NotRegularFile, match="is a socket"):
            read_regular(tmp_path / "sock", 100)
    finally:
        sock.close()
    with pytest.raises(IsADirectoryError):
        read_regular(tmp_path, 100)


def test_a_symbolic_link_is_refused_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"ok")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert read_regular(tmp_path / "link", 10) == b"ok"
    with pytest.raises(NotRegularFile, match="is a symbolic link"):
        read_regular(tmp_path / "link", 10, follow=False)
    assert kind_of(os.lstat(tmp_path / "link").st_mode) == "a symbolic link"

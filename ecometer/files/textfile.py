"""Reading a user's text file safely: only a regular file, and only up to a size limit.

A path given on the command line may be a FIFO (opening it for reading would wait for a
writer forever), a device such as ``/dev/zero`` (reading it never ends) or a directory.
:func:`read_text_file` fails fast on each with an error that names the file and what it is.
It imports nothing of ecometer but :mod:`ecometer.errors`, so any layer may use it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from ecometer.errors import InputError

_CHUNK = 1 << 20


def read_text_file(
    path: str | os.PathLike[str],
    limit_bytes: int,
    *,
    what: str = "file",
    error: Callable[[str], Exception] = InputError,
) -> str:
    """The UTF-8 text (a byte-order mark tolerated) of the regular file ``path``.

    Raises ``error(message)``, the message naming the file, for anything else: a FIFO (opened
    without blocking, never waited on), a device, a directory, a file larger than
    ``limit_bytes`` (checked while reading, so a file that grows stops too), bytes that are
    not UTF-8, or a read error. ``what`` names the kind of file in messages (``"standard"``).
    """
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)
    except (OSError, ValueError) as exc:
        raise error(f"{name}: cannot read this {what} ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{name}: not a regular file ({file_kind(info.st_mode)}); a {what} is read from a file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit_bytes:
            chunk = os.read(fd, min(_CHUNK, limit_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"{name}: cannot read this {what} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if size > limit_bytes:
        raise error(f"{name}: larger than {_size(limit_bytes)}; that is not a {what}")
    try:
        return b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{name}: not UTF-8 text at byte {exc.start}; a {what} is a UTF-8 text file") from None


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is: ``"a FIFO"``, ``"a directory"`` ..."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a plain file"


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n:,} bytes"

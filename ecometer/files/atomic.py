"""Atomic file writes: a temp file beside the target, fsync when durable, then a rename.

The written file gets the mode the umask gives (an existing file keeps its own mode), and a
symlink is written through onto the file it points to.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting it (another thread creating a file now would see 022)
    os.umask(mask)
    return mask


def write_atomic(target: str | os.PathLike[str], data: str | bytes, *, durable: bool = False) -> Path:
    """Write ``data`` (text, written as UTF-8, or bytes) to ``target`` via a temporary file in the
    same folder and a rename; returns the path. The one atomic writer (records, standards, charts).

    Readers see the old content or the new, never a part. ``durable`` also flushes the file
    to the disk before the rename (fsync: the content survives a crash of the machine, not
    only of the process; it costs milliseconds, too much for frequent checkpoints). A symlink is followed: the file it
    points to is replaced and the link stays. A new file gets the mode the umask gives
    (``0o666 & ~umask``, like any file the user creates); an existing one keeps its mode.
    A failure (a full disk, a read-only folder, a file where the folder should be) raises
    ``OSError`` and leaves ``target`` as it was, with no temporary file left behind.
    """
    asked = Path(target)
    target = asked
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; by name, after the write (the descriptor may be a device in tests)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return asked

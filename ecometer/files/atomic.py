"""Atomic file writes: a temp file beside the target, fsync when durable, then a rename.

The written file gets the mode the umask gives (an existing file keeps its own mode), and a
symlink is written through onto the file it points to. Names ecometer chose are created
exclusively (never replacing another process's file); a character device or a FIFO is written
into, never replaced.
"""

from __future__ import annotations

import errno
import os
import stat
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


def write_atomic(
    target: str | os.PathLike[str],
    data: str | bytes,
    *,
    durable: bool = False,
    exclusive: bool = False,
    follow_symlinks: bool = True,
) -> Path:
    """Write ``data`` (text, written as UTF-8, or bytes) to ``target`` via a temporary file in the
    same folder and a rename; returns the path. The one atomic writer (records, standards, charts).

    Readers see the old content or the new, never a part. ``durable`` also flushes the file
    to the disk before the rename (fsync: the content survives a crash of the machine, not
    only of the process; it costs milliseconds, too much for frequent checkpoints). A symlink is followed: the file it
    points to is replaced and the link stays (``follow_symlinks=False``: the link itself is replaced).
    A new file gets the mode the umask gives
    (``0o666 & ~umask``, like any file the user creates); an existing one keeps its mode.
    A failure (a full disk, a read-only folder, a file where the folder should be) raises
    ``OSError`` and leaves ``target`` as it was, with no temporary file left behind.

    ``exclusive``: ``target`` must not exist (nor be a symlink, which is never followed): the
    file appears whole under its name or ``FileExistsError`` is raised and nothing is changed
    (a hard link of the temporary file, else ``O_CREAT | O_EXCL | O_NOFOLLOW``). Records whose
    name ecometer chose are written so: two processes can never replace each other's.

    A ``target`` that is a character device or a FIFO (``/dev/null``, ``/dev/stdout`` into a
    pipe or a terminal) is never replaced: the data is streamed into it (a FIFO with no reader
    raises ``OSError`` at once). A block device or a socket is refused with ``OSError``.
    """
    asked = Path(target)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if not exclusive and stream_kind(asked) is not None and write_stream(asked, payload):
        return asked
    target = asked
    if follow_symlinks and not exclusive and target.is_symlink():
        target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) if not exclusive else 0o666 & ~_umask()
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    import tempfile  # here: it imports random and hashlib, a cost every `import ecometer` would pay

    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; by name, after the write (the descriptor may be a device in tests)
        if exclusive:
            _link_exclusive(tmp, target, payload, mode)
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return asked


def _link_exclusive(tmp: str, target: Path, payload: bytes, mode: int) -> None:
    """Give the written ``tmp`` the name ``target`` only if that name is free (FileExistsError otherwise)."""
    try:
        os.link(tmp, target, follow_symlinks=False)
        return
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system (FAT, some FUSE): create the name exclusively
        pass
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(target)
        raise


def stream_kind(path: str | os.PathLike[str]) -> str | None:
    """``"character device"`` or ``"FIFO"`` when ``path`` is one (written by streaming into it, never
    replaced); None for a regular file, a folder or nothing. ``OSError`` for a block device or a socket."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    for test, what in ((stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            raise OSError(errno.EPERM, f"{path} is {what}; a record is never written onto one")
    return None


def write_stream(path: Path, payload: bytes) -> bool:
    """Write ``payload`` into the character device or FIFO at ``path``; False if it turned out to be
    something else once opened (the caller writes it as a file). A FIFO with no reader raises ENXIO."""
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, f"{path} is a FIFO that nobody reads") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            return False
        os.set_blocking(fd, True)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return True

"""Where records go: the file name of a run, the fallback places, and why a path cannot be written."""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger("ecometer.measuring.meter")

def safe_name(name: str) -> str:
    """A file-name-safe version of a run name (letters, digits, ``._-``; at most 80 chars)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
    return cleaned[:80]


def record_path(out: Any, name: str, suffix: str) -> Path | None:
    """Where a record goes: ``out`` as given, None for no file, or for ``"auto"``
    ``$ECOMETER_DIR/<safe name>-<UTC time>-<suffix>-<token>.json`` (default dir ``ecometer-runs``;
    ``token``: 8 random hex digits, so names are unpredictable and, with the exclusive create
    the writer uses for them (:func:`is_auto`), never shared by two records)."""
    if out is None or out is False:
        return None
    if out == "auto":
        base = Path(os.environ.get("ECOMETER_DIR", "ecometer-runs"))
        return base / auto_name(name, suffix)
    return Path(out)


def auto_name(name: str, suffix: str) -> str:
    """A record file name ecometer chooses: ``<safe name>-<UTC time>-<suffix>-<random token>.json``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{safe_name(name)}-{stamp}-{suffix}-{secrets.token_hex(4)}.json"


def renamed(path: Path) -> Path:
    """``path`` with a fresh random token (replacing the one :func:`auto_name` put there, else added):
    the next name to claim."""
    stem = path.name.removesuffix(".json")
    head, sep, token = stem.rpartition("-")
    if sep and len(token) == 8 and all(c in "0123456789abcdef" for c in token):
        stem = head
    return path.with_name(f"{stem}-{secrets.token_hex(4)}.json")


def absolute(path: Path) -> Path | None:
    """``path`` made absolute, or None when it is relative and the working folder is gone."""
    if path.is_absolute():
        return Path(os.path.normpath(path))
    try:
        return Path(os.path.abspath(path))
    except OSError:  # FileNotFoundError from getcwd(): the working folder was deleted
        return None


def private_temp_dir() -> Path:
    """``ecometer-runs/`` in the temporary folder, private to this user (mode 0700, owned by
    them, not a symlink); if another user owns that name, or it is not a plain folder, a fresh
    private folder ``ecometer-runs-XXXX`` made there. ``OSError`` if neither can be made."""
    base = Path(tempfile.gettempdir())
    folder = base / "ecometer-runs"
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(folder, 0o700)  # a plain folder of ours (lstat): others cannot swap it in a sticky /tmp
        return folder
    return Path(tempfile.mkdtemp(prefix="ecometer-runs-", dir=base))


def fallback_paths(name: str, asked: Path) -> list[Path]:
    """Where a record goes when ``asked`` cannot be written, in order: the ``"auto"`` place
    (``$ECOMETER_DIR``, default ``ecometer-runs/``) and the private folder of
    :func:`private_temp_dir`, both absolute (the first is left out when it is relative and
    the working folder is gone), without ``asked`` itself. Both names are written exclusively."""
    auto = record_path("auto", name, suffix=str(os.getpid()))
    assert auto is not None
    places = [absolute(auto)]
    try:
        places.append(private_temp_dir() / auto.name)
    except OSError as exc:
        log.warning("no private folder for records in the temporary folder: %s", exc)
    here = absolute(asked)
    return [p for p in places if p is not None and p != here]


def unwritable_reason(exc: BaseException, path: Path) -> str:
    """Why ``path`` could not be written, in words (a file in the way of its folder is named)."""
    if os.path.isdir(path):
        return f"{path} is a folder, not a file"
    if absolute(path) is None:
        return "the working folder was deleted"
    for folder in Path(os.path.abspath(path)).parents:
        if folder.exists():
            if not folder.is_dir():
                return f"{folder} is a file, not a folder"
            break
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def next_record_path(out: Any, name: str) -> Path | None:
    """:func:`record_path` for a run starting now in this process (pid and a random token in the name)."""
    return record_path(out, name, suffix=str(os.getpid()))

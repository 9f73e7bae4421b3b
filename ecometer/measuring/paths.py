"""Where records go: the file name of a run, the fallback places, and why a path cannot be written."""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_run_numbers = itertools.count()  # runs started in this process: each record gets its own file


def safe_name(name: str) -> str:
    """A file-name-safe version of a run name (letters, digits, ``._-``; at most 80 chars)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
    return cleaned[:80]


def record_path(out: Any, name: str, suffix: str) -> Path | None:
    """Where a record goes: ``out`` as given, None for no file, or for ``"auto"``
    ``$ECOMETER_DIR/<safe name>-<UTC time>-<suffix>.json`` (default dir ``ecometer-runs``)."""
    if out is None or out is False:
        return None
    if out == "auto":
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        base = Path(os.environ.get("ECOMETER_DIR", "ecometer-runs"))
        return base / f"{safe_name(name)}-{stamp}-{suffix}.json"
    return Path(out)


def fallback_paths(name: str, asked: Path) -> list[Path]:
    """Where a record goes when ``asked`` cannot be written, in order: the ``"auto"`` place
    (``$ECOMETER_DIR``, default ``ecometer-runs/``) and ``ecometer-runs/`` in the temporary
    folder, both absolute, without ``asked`` itself."""
    auto = record_path("auto", name, suffix=str(os.getpid()))
    assert auto is not None
    places = [Path(os.path.abspath(p)) for p in (auto, Path(tempfile.gettempdir()) / "ecometer-runs" / auto.name)]
    return [p for p in places if p != Path(os.path.abspath(asked))]


def unwritable_reason(exc: BaseException, path: Path) -> str:
    """Why ``path`` could not be written, in words (a file in the way of its folder is named)."""
    if os.path.isdir(path):
        return f"{path} is a folder, not a file"
    for folder in Path(os.path.abspath(path)).parents:
        if folder.exists():
            if not folder.is_dir():
                return f"{folder} is a file, not a folder"
            break
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def next_record_path(out: Any, name: str) -> Path | None:
    """:func:`record_path` for the next run of this process (its own file: pid, then a run number)."""
    n = next(_run_numbers)
    return record_path(out, name, suffix=f"{os.getpid()}" + (f".{n}" if n else ""))

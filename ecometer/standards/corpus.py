"""Reading a corpus of run records from files and folders (for the CLI and notebooks)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ecometer.errors import InputError
from ecometer.record import CHECKPOINT_SUFFIX, RunRecord, load_record


def record_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, plus every ``*.json`` record directly inside a named folder (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.glob("*.json") if not f.name.endswith(CHECKPOINT_SUFFIX))
            if not found:
                raise InputError(f"{p}: folder holds no *.json record files")
            out.extend(found)
        else:
            out.append(p)
    return out


def load_records(paths: Iterable[str | Path]) -> list[RunRecord]:
    """Load every record named by ``paths`` (files or folders); raises on the first bad one."""
    files = record_paths(paths)
    if not files:
        raise InputError("no record files given")
    return [load_record(f) for f in files]

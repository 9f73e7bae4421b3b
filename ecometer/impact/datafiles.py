"""Loading the shipped data files of the footprint layer (JSON under ``data/``), cached."""

from __future__ import annotations

from typing import Any

from ecometer import datafiles


def load(name: str) -> dict[str, Any]:
    """The parsed JSON data file ``ecometer/impact/data/<name>.json`` (cached; do not mutate)."""
    return datafiles.load("ecometer.impact", f"data/{name}.json")


def source_label(file: str, source_id: str) -> str:
    """A short human citation for ``source_id`` in data file ``file``: its citation and year."""
    src = load(file)["sources"][source_id]
    return f"{src['citation']} [{src['year']}; {src['licence']}]"

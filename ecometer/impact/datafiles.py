"""Loading the shipped data files of the footprint layer (JSON under ``data/``), cached."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed JSON data file ``ecometer/impact/data/<name>.json`` (cached; do not mutate)."""
    text = resources.files("ecometer.impact").joinpath("data").joinpath(f"{name}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"ecometer/impact/data/{name}.json: expected a JSON object")
    return data


def source_label(file: str, source_id: str) -> str:
    """A short human citation for ``source_id`` in data file ``file``: its citation and year."""
    src = load(file)["sources"][source_id]
    return f"{src['citation']} [{src['year']}; {src['licence']}]"

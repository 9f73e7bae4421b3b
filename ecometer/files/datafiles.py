"""Loading the JSON data files shipped in ``ecometer/data/`` (parsed once per process).

Every shipped constant (NVML timings, CPU power, site presets, water and carbon factors) lives
in one of these files with its source, year and licence; this is the one loader for them.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from ecometer.errors import DataFileError


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed JSON object in ``ecometer/data/<name>.json`` (``name`` may end in ``.json``).

    Cached: every caller gets the same dictionary, which must not be mutated.
    """
    name = name.removesuffix(".json")
    where = f"ecometer/data/{name}.json"
    try:
        text = resources.files("ecometer").joinpath(f"data/{name}.json").read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{where}: cannot read the shipped data file ({exc}); reinstall ecometer") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{where}: not valid JSON ({exc}); reinstall ecometer") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{where}: expected a JSON object, found {type(data).__name__}")
    return data


def source_label(name: str, source_id: str) -> str:
    """A short human citation for ``source_id`` in data file ``name``: citation, year and licence."""
    src = load(name)["sources"][source_id]
    return f"{src['citation']} [{src['year']}; {src['licence']}]"

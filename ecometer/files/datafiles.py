"""Loading the JSON data files shipped in ``ecometer/data/`` (parsed once per process).

Every shipped constant (NVML timings, CPU power, site presets, water and carbon factors) lives
in one of these files with its source, year and licence; this is the one loader for them.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from ecometer.errors import DataFileError

#: ``ecometer/data`` on the file system (an installed package, a checkout); ``None`` when the
#: package is not a plain directory (a zip file): then ``importlib.resources`` reads the files
_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
if not os.path.isdir(_DATA):  # pragma: no cover - zipped package
    _DATA = None  # type: ignore[assignment]


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed JSON object in ``ecometer/data/<name>.json`` (``name`` may end in ``.json``).

    Cached: every caller gets the same dictionary, which must not be mutated.
    """
    name = name.removesuffix(".json")
    where = f"ecometer/data/{name}.json"
    try:
        text = _read(name)
    except (OSError, ModuleNotFoundError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{where}: cannot read the shipped data file ({exc}); reinstall ecometer") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{where}: not valid JSON ({exc}); reinstall ecometer") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{where}: expected a JSON object, found {type(data).__name__}")
    return data


def _read(name: str) -> str:
    """The text of ``data/<name>.json``: straight from the directory (no ``importlib.resources``,
    whose readers import ``zipfile`` and ``pathlib``: a few ms of a cold process), else through it."""
    if _DATA is not None:
        with open(os.path.join(_DATA, f"{name}.json"), encoding="utf-8") as fh:
            return fh.read()
    from importlib import resources  # pragma: no cover - zipped package

    return resources.files("ecometer").joinpath(f"data/{name}.json").read_text(encoding="utf-8")  # pragma: no cover


def source_label(name: str, source_id: str) -> str:
    """A short human citation for ``source_id`` in data file ``name``: citation, year and licence."""
    src = load(name)["sources"][source_id]
    return f"{src['citation']} [{src['year']}; {src['licence']}]"

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

#: the ``ecometer`` package on the file system (an installed package, a checkout); ``None`` when
#: it is not a plain directory (a zip file): then ``importlib.resources`` reads its files
_PACKAGE: str | None = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not os.path.isdir(os.path.join(_PACKAGE, "data")):  # pragma: no cover - zipped package
    _PACKAGE = None


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
    return package_text(f"data/{name}.json")


def package_text(relative: str) -> str:
    """The text (UTF-8) of the file ``relative`` (``/``-separated) in the ``ecometer`` package:
    straight from its directory (``importlib.resources``' readers import ``zipfile``: a few ms
    of a cold process), else through ``importlib.resources``. Raises ``OSError``."""
    if _PACKAGE is not None:
        with open(os.path.join(_PACKAGE, *relative.split("/")), encoding="utf-8") as fh:
            return fh.read()
    from importlib import resources  # pragma: no cover - zipped package

    return resources.files("ecometer").joinpath(relative).read_text(encoding="utf-8")  # pragma: no cover


def package_names(relative: str) -> list[str]:
    """The names of the entries of the folder ``relative`` in the ``ecometer`` package."""
    if _PACKAGE is not None:
        return os.listdir(os.path.join(_PACKAGE, *relative.split("/")))
    from importlib import resources  # pragma: no cover - zipped package

    return [p.name for p in resources.files("ecometer").joinpath(relative).iterdir()]  # pragma: no cover


def source_label(name: str, source_id: str) -> str:
    """A short human citation for ``source_id`` in data file ``name``: citation, year and licence."""
    src = load(name)["sources"][source_id]
    return f"{src['citation']} [{src['year']}; {src['licence']}]"

"""Loading the JSON data files shipped inside ecometer's packages (parsed once per process)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from ecometer.errors import EcometerError


class DataFileError(EcometerError):
    """A shipped data file is missing or not valid JSON (a broken installation, not bad input)."""


@functools.cache
def load(package: str, name: str) -> dict[str, Any]:
    """The parsed JSON object in data file ``name`` of ``package`` (e.g. ``("ecometer", "data/nvml.json")``).

    Cached: every caller gets the same dictionary, which must not be mutated.
    """
    where = f"{package.replace('.', '/')}/{name}"
    try:
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{where}: cannot read the shipped data file ({exc}); reinstall ecometer") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{where}: not valid JSON ({exc}); reinstall ecometer") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{where}: expected a JSON object, found {type(data).__name__}")
    return data

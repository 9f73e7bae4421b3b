"""Old module paths, kept working with a :class:`DeprecationWarning` (issue 21's new layout).

``import ecometer.measuring.meter`` still gives the meter's module, now :mod:`ecometer.measuring.meter`,
and says where it went. One table (:data:`MOVED`) and one finder on ``sys.meta_path`` (plain classes with the
finder and loader methods: ``importlib.abc`` would cost ``import ecometer`` about 5 ms); the
finder answers only for the names in the table, so every other import is untouched.

``ecometer.footprint`` is the footprint *function* now, so its old package path cannot alias
:mod:`ecometer.impact` (importing a submodule would replace the function on the package):
importing it raises an :class:`ImportError` that names the new place.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old module path -> new module path (ecometer 0.1 layout -> the layout of docs/ARCHITECTURE.md)
MOVED: dict[str, str] = {
    "ecometer.meter": "ecometer.measuring.meter",
    "ecometer.run": "ecometer.measuring.run",
    "ecometer.build": "ecometer.measuring.build",
    "ecometer.sampler": "ecometer.measuring.sampler",
    "ecometer.supervision": "ecometer.measuring.supervision",
    "ecometer.lifecycle": "ecometer.measuring.lifecycle",
    "ecometer.sync": "ecometer.measuring.sync",
    "ecometer.hostinfo": "ecometer.measuring.hostinfo",
    "ecometer.curves": "ecometer.energy.curves",
    "ecometer.counters": "ecometer.energy.counters",
    "ecometer.timeline": "ecometer.energy.timeline",
    "ecometer.uncertainty": "ecometer.record.uncertainty",
    "ecometer.quantities": "ecometer.record.quantities",
    "ecometer.units": "ecometer.record.units",
    "ecometer.datafiles": "ecometer.files.datafiles",
    "ecometer.textfile": "ecometer.files.textfile",
    "ecometer.workloads": "ecometer.commands.workloads",
    "ecometer.cli": "ecometer.commands.cli",
}

#: old package whose path now names something else -> where its contents went
REMOVED_PACKAGES: dict[str, str] = {"ecometer.footprint": "ecometer.impact"}


class _Alias:
    """Loads an old path as the module at its new path (the same module object)."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; import it from there (the old path will be removed)",
            DeprecationWarning,
            stacklevel=4,
        )
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module at the new path is already executed."""


class MovedPathFinder:
    """Finds the old module paths of :data:`MOVED` and refuses those of :data:`REMOVED_PACKAGES`."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is not None:
            return importlib.machinery.ModuleSpec(fullname, _Alias(new))
        for old, moved_to in REMOVED_PACKAGES.items():
            if fullname == old or fullname.startswith(old + "."):
                raise ModuleNotFoundError(
                    f"{fullname}: the package {old} is now {moved_to} (import from {fullname.replace(old, moved_to, 1)}); "
                    f"{old} itself is the footprint function",
                    name=fullname,
                )
        return None


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (called by ``import ecometer``)."""
    if not any(isinstance(f, MovedPathFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedPathFinder())

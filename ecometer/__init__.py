"""ecometer: measure the energy, water and carbon of ML jobs and score them against standards.

``import ecometer`` is cheap: besides the record module (standard library only), the public
names below are resolved lazily, so importing the package loads no sensor library,
matplotlib, codecarbon, torch or pandas.

    with ecometer.measure("finetune", work_unit="sample") as m:
        ...
        m.add_work(64)
    print(m.record.energy_j)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ecometer import compat
from ecometer._version import __version__
from ecometer.record.model import register_attachment

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # core
    "measure": "ecometer.api",
    "Meter": "ecometer.measuring.meter",
    "MeterOptions": "ecometer.measuring.options",
    "RunRecord": "ecometer.record",
    "Component": "ecometer.record",
    "Phase": "ecometer.record",
    "Estimate": "ecometer.record",
    "RecordError": "ecometer.record",
    "load_record": "ecometer.record",
    # jobs of several processes
    "measure_distributed": "ecometer.api",
    "merge_records": "ecometer.distributed.merge",
    # footprint (facility energy, water, carbon)
    "Site": "ecometer.impact",
    "footprint": "ecometer.impact.compute",  # a plain function; the package is ecometer.impact
    "Footprint": "ecometer.impact",
    # standards
    "Standard": "ecometer.standards",
    "Assessment": "ecometer.standards",
    "StandardError": "ecometer.standards",
    "load_standard": "ecometer.standards",
    "list_standards": "ecometer.standards",
    "standards": "ecometer.standards",  # the package; ecometer.standards() names list_standards
    "score": "ecometer.standards",
}

__all__ = ["__version__", *(name for name in _EXPORTS if name != "standards")]

compat.install()  # old module paths (ecometer.measuring.meter, ecometer.record.units...) keep working, with a warning

# the one attachment mechanism: each layer that attaches a result to records names its decoder
# (imported only when a record's attachment is first read)
register_attachment("footprint", "ecometer.impact:Footprint.from_dict")
register_attachment("assessment", "ecometer.standards:Assessment.from_dict")


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ecometer' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"{__name__}.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from ecometer.api import measure, measure_distributed
    from ecometer.distributed.merge import merge_records
    from ecometer.errors import RecordError
    from ecometer.impact import Footprint, Site, footprint
    from ecometer.measuring.meter import Meter
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component, Phase, RunRecord, load_record
    from ecometer.standards import Assessment, Standard, StandardError, list_standards, load_standard, score

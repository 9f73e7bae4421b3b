"""Joint Monte Carlo draws of one record's quantities: what grade probabilities are read from.

One :class:`RecordDraws` per scored record holds one :class:`~ecometer.record.uncertainty.Propagation`,
so every metric and hard limit of the record reads the *same* draws:

- each energy component is drawn once, from the distribution its estimate declares
  (key ``component:<name>``; different sensors are independent); IT energy is their sum,
  GPU energy the ``gpu`` component's draws, so metrics that share the IT energy share its error;
- work counts, GPU counts and durations are exact: a per-work measure is its draws / count;
  a work count the record says was estimated (FLOPs: ``meta.work_estimates``) is drawn from its
  stated bounds (key ``work:<unit>``) in work-per-joule measures;
- footprint quantities (facility energy, water, carbon): when the footprint carries an
  ``intensity`` table (per quantity, an estimate of the quantity per joule of IT energy, the PUE
  for facility energy, with the factors' uncertainty only), a quantity's draws are the IT-energy
  draws x the intensity's draws (key ``intensity:<name>``, one draw shared by every metric).
  Without it (older records, a reported water figure) the footprint figure is drawn from its own
  estimate, independently of the energy, and :attr:`RecordDraws.notes` says so;
- a reported figure that states no spread is drawn from the standard's assumed spread
  (``quality.reported_spread``: uniform over +/- that relative half-width).

Quantities are computed once per record (cached by name); draws are in SI units, a
:func:`measure`'s in its display unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecometer.errors import NotApplicable, RecordError
from ecometer.record import units as U
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord
from ecometer.record.quantities import NO_FOOTPRINT, QUANTITIES, estimate, footprint_data
from ecometer.record.uncertainty import N_DRAWS, SEED, Propagation
from ecometer.standards.metrics import RUN, Measure, functional_units
from ecometer.standards.reported import REPORTED, is_reported
from ecometer.work.estimates import work_estimate

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

#: footprint quantities that an ``intensity`` entry (per joule of IT energy) can give
INTENSITY_QUANTITIES = (
    "facility_energy_j",
    "water_onsite_l",
    "water_offsite_l",
    "water_total_l",
    "water_withdrawal_l",
    "carbon_g",
)
#: site ratios that are an intensity: PUE is facility energy per IT joule, WUE on-site water per IT joule
SITE_INTENSITY = {"site_pue": "facility_energy_j", "site_wue": "water_onsite_l"}

INDEPENDENT_NOTE = (
    "{name} drawn from the footprint's own interval, independently of the IT energy "
    "(the footprint carries no intensity for it)"
)


def stored_estimate(node: Any) -> Estimate | None:
    """An estimate stored in a footprint (schema 2 with its distribution, or older bounds)."""
    if isinstance(node, dict) and "distribution" in node:
        try:
            return Estimate.from_dict(node)
        except RecordError:
            return None
    return estimate(node)


class RecordDraws:
    """Joint draws of the quantities of ``record``, from one seeded propagation.

    ``reported_spread``: the relative half-width assumed for a reported figure that states
    none (``None``: such a figure is exact). ``notes`` maps a quantity to what its draws
    assume beyond the record's own estimates.
    """

    def __init__(
        self, record: RunRecord, *, reported_spread: float | None = None, n: int = N_DRAWS, seed: int = SEED
    ) -> None:
        self.record = record
        self.spread = reported_spread
        self._n, self._seed = n, seed
        self._p: Propagation | None = None
        self.notes: dict[str, str] = {}
        self.reported = is_reported(record)
        self._cache: dict[str, np.ndarray] = {}
        fp = footprint_data(record)
        self.footprint = fp
        raw = fp.get("intensity") if fp is not None else None
        self.intensity = raw if isinstance(raw, dict) else {}

    @property
    def p(self) -> Propagation:
        """The record's one propagation (numpy and the generator only once something is drawn)."""
        if self._p is None:
            self._p = Propagation(self._n, self._seed)
        return self._p

    @property
    def n(self) -> int:
        return self._n

    # ---- quantities (SI) ---------------------------------------------------------------
    def quantity(self, name: str) -> np.ndarray:
        """Draws of quantity ``name`` in its SI unit. Raises :class:`NotApplicable`."""
        if name not in self._cache:
            self._cache[name] = self._compute(name)
        return self._cache[name]

    def _compute(self, name: str) -> np.ndarray:
        import numpy as np

        rec = self.record
        if name == "it_energy_j":
            if not rec.components:
                raise NotApplicable("record has no measured energy (no components)")
            return sum((self.component(c) for c in rec.components), np.zeros(self.n))
        if name in ("gpu_energy_j", "cpu_energy_j", "dram_energy_j"):
            return self.component(name.split("_")[0])
        if name == "duration_s":
            return np.full(self.n, float(rec.duration_s))
        if name == "average_power_w":
            if not rec.duration_s > 0:
                raise NotApplicable(f"record duration is {rec.duration_s} s; average power needs a positive duration")
            return self.quantity("it_energy_j") / rec.duration_s
        if name in INTENSITY_QUANTITIES:
            factor = self._intensity(name)
            if factor is not None:
                return self.quantity("it_energy_j") * factor
            return self._own(name)
        if name in SITE_INTENSITY:
            factor = self._intensity(SITE_INTENSITY[name])
            if factor is not None:  # PUE and WUE (L/J) are these intensities themselves
                return factor
            return self._own(name)
        raise NotApplicable(f"{name} has no joint draws")

    def component(self, name: str) -> np.ndarray:
        """Draws of one energy component (J), shared under key ``component:<name>``."""
        comp = self.record.components.get(name)
        if comp is None:
            raise NotApplicable(f"record has no {name.upper()} energy (no {name!r} component)")
        est = comp.uncertainty.replace(central=comp.energy_j)
        if est.is_exact and comp.method == REPORTED and self.spread:
            est = Estimate.relative(comp.energy_j, self.spread, self.spread)
        return self.p.value(est, f"component:{name}")

    def _intensity(self, name: str) -> np.ndarray | None:
        est = stored_estimate(self.intensity.get(name))
        return None if est is None else self.p.value(est, f"intensity:{name}")

    def _own(self, name: str) -> np.ndarray:
        """A footprint figure drawn from its own estimate (no intensity): noted as independent."""
        if self.footprint is None:
            raise NotApplicable(NO_FOOTPRINT)
        q = QUANTITIES[name]
        node: Any = self.footprint
        for key in q.footprint or ():
            node = node.get(key) if isinstance(node, dict) else None
        est = stored_estimate(node)
        if est is None:
            est = q.read(self.record)  # raises NotApplicable with the reason
        elif name == "site_wue":
            est = U.to_si(est, "L/kWh")  # the footprint gives WUE per kWh of IT energy
        if est.is_exact and self.reported and self.spread:
            est = Estimate.relative(est.central, self.spread, self.spread)
        if not est.is_exact:
            self.notes[name] = INDEPENDENT_NOTE.format(name=name)
        return self.p.value(est, f"footprint:{name}")

    # ---- measures (display units) --------------------------------------------------------
    def measure(self, m: Measure) -> np.ndarray:
        """Draws of measure ``m`` in ``m.unit`` (as :func:`ecometer.standards.metrics.measure`)."""
        import numpy as np

        if m.quantity == "work_per_joule":
            unit, _ = self.record.work_count(m.work)
            count = self.p.value(work_estimate(self.record, unit), f"work:{unit}")  # exact unless estimated
            energy = self.quantity("it_energy_j")
            with np.errstate(divide="ignore", invalid="ignore"):
                si = np.where(energy > 0, (count / m.scale) / energy, np.inf)
        else:
            si = self.quantity(m.quantity)
            if QUANTITIES[m.quantity].extensive and m.per != RUN:
                si = si * (m.scale / functional_units(self.record, m.per))
        return si / U.UNITS[m.unit].factor


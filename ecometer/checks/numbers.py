"""The one check for a number a user gives: a real number, finite, in its range; else a clear error.

Every public entry that takes a number (the meter's options and its ``clock``, ``add_work``,
``forecast``, site values, footprint inputs, distributed timeouts, the command line's numeric
options) passes it through
:func:`check_number`, so that ``10**400``, ``nan``, ``inf``, ``"3"``, ``True`` or a value out of
range give one :class:`~ecometer.errors.InputError` naming the input, what it was and what is
expected, never a raw ``OverflowError``, ``ValueError`` or ``TypeError`` from deep inside.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from ecometer.errors import InputError

_SHOWN_CHARS = 80  # a value's repr is cut to this many characters in a message


@dataclass(frozen=True)
class Bounds:
    """The range a number must be in. ``low``/``high``: inclusive bounds; ``above``/``below``:
    exclusive ones; ``integer``: a whole number; ``unit``: said after the range (``"s"``)."""

    low: float | None = None
    high: float | None = None
    above: float | None = None
    below: float | None = None
    integer: bool = False
    unit: str = ""

    def holds(self, v: float) -> bool:
        """Whether the finite number ``v`` is in the range."""
        return not (
            (self.low is not None and v < self.low)
            or (self.high is not None and v > self.high)
            or (self.above is not None and v <= self.above)
            or (self.below is not None and v >= self.below)
            or (self.integer and v != int(v))
        )

    def describe(self) -> str:
        """``a finite number > 0 (s)``, ``a whole number >= 1 and <= 10``..."""
        parts = ["a whole number" if self.integer else "a finite number"]
        lower = f">= {self.low:g}" if self.low is not None else f"> {self.above:g}" if self.above is not None else ""
        upper = f"<= {self.high:g}" if self.high is not None else f"< {self.below:g}" if self.below is not None else ""
        parts.append(" and ".join(p for p in (lower, upper) if p))
        if self.unit:
            parts.append(f"({self.unit})")
        return " ".join(p for p in parts if p)


ANY = Bounds()  #: any finite number


def shown(value: Any) -> str:
    """``value`` as a message shows it: a short repr; a huge integer by its number of digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        if value.bit_length() < 14_000:  # str() of an int has a limit (4,300 digits by default)
            return f"(an integer of {len(str(abs(value)))} digits)"
        return f"(an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits)"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - an object whose repr fails is still named by its type
        return f"(a {type(value).__name__})"
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def check_number(value: Any, name: str, bounds: Bounds = ANY, *, error: type[InputError] = InputError) -> float:
    """``value`` as a float if it is a real number (not a bool), finite and within ``bounds``.

    Otherwise raises ``error`` (an :class:`~ecometer.errors.InputError` kind): ``"NAME VALUE:
    expected a finite number > 0 (s)"``. ``name`` says where the number was given
    (``"forecast: total_work"``, ``"--pue"``). Integers too large for a float, numpy scalars and
    fractions are judged by their value; strings are refused (parse them first).
    """
    plain = type(value) is float or type(value) is int  # the fast path; bool is an int's subclass, not int
    if not plain and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise error(f"{name} {shown(value)} is a {type(value).__name__}: expected a number ({bounds.describe()})")
    try:
        v = float(value)
    except (OverflowError, ValueError, TypeError):  # an int or Fraction beyond a float's range
        v = math.inf if value > 0 else -math.inf
    if not math.isfinite(v) or not bounds.holds(v):
        raise error(f"{name} {shown(value)}: expected {bounds.describe()}")
    return v


class CheckedClock:
    """A user's ``clock=`` whose readings are checked: a real, finite number of seconds.

    The first reading is taken at once: a clock that gives no time (``nan``, ``None``, ``inf``,
    a string, an exception) raises :class:`~ecometer.errors.InputError` there, before anything
    starts. A bad reading later does not raise inside the job: the last good reading is used
    and ``warn`` is called once with what the clock returned.
    """

    def __init__(self, clock: Any, warn: Any) -> None:
        self.clock = clock
        self.warn = warn
        self.bad = 0
        try:
            first = clock()
        except Exception as exc:  # noqa: BLE001 - any failure of a user's clock is named
            what = f"{type(exc).__name__}: {exc}"
            raise InputError(f"clock() raised {what}; expected a finite number of seconds") from None
        self.last = check_number(first, "clock() returned", Bounds(unit="s, from a monotonic clock"))

    def __call__(self) -> float:
        try:
            value = self.clock()
        except Exception:  # noqa: BLE001 - a bad reading, judged below
            value = None
        if type(value) is float and value - value == 0.0:  # the fast path: a finite float
            self.last = value
            return value
        try:
            self.last = check_number(value, "clock() returned")
        except InputError:
            self.bad += 1
            if self.bad == 1:
                self.warn(f"clock() returned {shown(value)}, not a finite number of seconds; its last good reading "
                          f"is used instead (said once)")  # fmt: skip
        return self.last


def check_optional(
    value: Any, name: str, bounds: Bounds = ANY, *, error: type[InputError] = InputError
) -> float | None:
    """:func:`check_number`, with ``None`` passed through (an option not given)."""
    return None if value is None else check_number(value, name, bounds, error=error)


def parse_number(text: str, name: str, bounds: Bounds = ANY, *, error: type[InputError] = InputError) -> float:
    """A number written as text (a command-line option, a file's field), checked as :func:`check_number`;
    the error shows the text as written (``name`` may be empty where the caller names the input)."""
    where = f"{name} {shown(text)}" if name else shown(text)
    try:
        value: Any = int(text.strip()) if text.strip().lstrip("+-").isdigit() else float(text)
        return check_number(value, name, bounds, error=error)
    except (ValueError, TypeError, InputError):
        raise error(f"{where}: expected {bounds.describe()}") from None

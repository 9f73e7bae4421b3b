"""ecometer's errors: one root, :class:`EcometerError`, and every error type under it.

This module imports nothing of ecometer, so every layer (the record included) may use it.

- :class:`InputError` (also a ``ValueError``): bad input from a user, a file, an argument or
  a value; the message names it. The command line prints it as one line and exits 2.
  :class:`RecordError`, :class:`StandardError`, :class:`SiteError`, :class:`FootprintError`,
  :class:`AggregateError`, :class:`FigureMissing` and :class:`UsageError` are input errors.
- :class:`SensorUnavailable`: a measurement source cannot be used here; the message says why
  and how to enable it. :class:`GPUError` and its kinds (not supported, no data, lost, no
  permission, driver missing, unknown) are NVML failures, mapped once at the NVML boundary.
- :class:`NotApplicable`: a standard's measure does not apply to a record (``reason`` says why).
- :class:`DataFileError`: a shipped data file is missing or corrupt (a broken installation).
"""

from __future__ import annotations

import difflib
import re


class EcometerError(Exception):
    """Base of ecometer's own errors."""


class InputError(EcometerError, ValueError):
    """Bad input from a user: a file, an argument or a value. The message names it."""


class UsageError(InputError):
    """A command-line request that cannot be carried out as given; printed as one line, exit code 2."""


class RecordError(InputError):
    """A record file or dictionary is missing, corrupt or of an unknown schema."""


class SiteError(InputError):
    """A site value, preset, country or profile is invalid. The message names it."""


class FootprintError(InputError):
    """The footprint cannot be computed from what was given. The message says what is missing."""


class AggregateError(InputError):
    """Records cannot be merged (duplicate ranks, nothing to merge...). The message says why."""


class FigureMissing(InputError):
    """A record lacks the figure asked for; the message says what is missing and how to add it."""


class SensorUnavailable(EcometerError, RuntimeError):
    """A measurement source cannot be used here; the message says why and how to enable it."""


class GPUError(SensorUnavailable):
    """An NVML call failed. ``code`` is NVML's return code (``None`` when the bindings lack the
    call), ``call`` the NVML function's name. Raised only by :mod:`ecometer.sensors.nvml_device`."""

    def __init__(self, message: str, *, code: int | None = None, call: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.call = call


class GPUNotSupported(GPUError):
    """The GPU, driver or bindings do not offer this call (``NOT_SUPPORTED``, ``FUNCTION_NOT_FOUND``)."""


class GPUBindingMissing(GPUNotSupported):
    """The installed nvidia-ml-py lacks this function or constant: upgrade nvidia-ml-py."""


class GPUNoData(GPUError):
    """NVML has nothing to return yet (``NOT_FOUND``, ``NO_DATA``): not a failure of the GPU."""


class GPULost(GPUError):
    """The GPU fell off the bus or needs a reset (``GPU_IS_LOST``, ``RESET_REQUIRED``)."""


class GPUNoPermission(GPUError):
    """The process may not open the GPU or make this call (``NO_PERMISSION``)."""


class GPUDriverMissing(GPUError):
    """No NVIDIA driver: ``libnvidia-ml.so.1`` not found, or the kernel driver is not loaded."""


class GPUUnknownError(GPUError):
    """Any other NVML error (``UNKNOWN``, ``TIMEOUT``, ...); ``code`` says which."""


class DataFileError(EcometerError):
    """A shipped data file is missing or not valid JSON (a broken installation, not bad input)."""


class NotApplicable(EcometerError):
    """A measure does not apply to a record; ``reason`` says why in one sentence."""

    def __init__(self, reason: str, *, missing_unit: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing_unit = missing_unit



class StandardError(InputError):
    """A standard file is malformed, or a record cannot be scored against it.

    Attributes: ``file`` (path or ``builtin:NAME``), ``field`` (e.g.
    ``metrics.energy_per_token.thresholds[2]``), ``line`` (1-based, or ``None`` when it
    could not be located), ``found`` and ``expected``.
    """

    def __init__(
        self,
        file: str,
        field: str,
        found: str,
        expected: str,
        *,
        line: int | None = None,
        text: str | None = None,
    ) -> None:
        if line is None and text is not None and field:
            line = find_line(text, field)
        self.file = file
        self.field = field
        self.line = line
        self.found = found
        self.expected = expected
        where = file + (f":{line}" if line else "")
        subject = f" {field}:" if field else ""
        super().__init__(f"{where}:{subject} found {found}; expected {expected}")


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_INDEX = re.compile(r"\[(\d+)\]")


def _norm(key: str) -> str:
    return ".".join(part.strip().strip('"').strip("'") for part in key.split("."))


def find_line(text: str, field: str) -> int | None:
    """Best-effort 1-based line of ``field`` (``a.b.c[2]``) in TOML ``text``, or ``None``.

    Looks for the deepest table header that prefixes the field, then for the remaining key
    inside that table; falls back to the first line that assigns the field's last key.
    """
    lines = text.splitlines()
    parts: list[tuple[str, int | None]] = []
    for seg in re.split(r"\.(?![^\[]*\])", field):
        m = _INDEX.search(seg)
        name = _INDEX.sub("", seg)
        parts.append((name, int(m.group(1)) if m else None))
    names = [p[0] for p in parts]
    headers = [(i, _norm(m.group(1))) for i, line in enumerate(lines) if (m := _HEADER.match(line))]
    for depth in range(len(names), 0, -1):
        head = ".".join(names[:depth])
        index = parts[depth - 1][1]
        found = [i for i, h in headers if h == head]
        if not found:
            continue
        if index is not None and index < len(found) and lines[found[index]].lstrip().startswith("[["):
            start = found[index]
        else:
            start = found[0]
        rest = names[depth:]
        if not rest:
            return start + 1
        end = next((i for i, _ in headers if i > start), len(lines))
        key = re.compile(r"^\s*" + re.escape(rest[0]) + r"\s*(=|\.)")
        for i in range(start + 1, end):
            if key.match(lines[i]):
                return i + 1
        return start + 1
    key = re.compile(r"^\s*(" + re.escape(names[-1]) + r"|" + re.escape(".".join(names)) + r")\s*=")
    for i, line in enumerate(lines):
        if key.match(line):
            return i + 1
    return None


def is_input_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a user-input error that the CLI prints as one line (exit 2)."""
    return isinstance(exc, (InputError, FileNotFoundError))


def suggest(word: str, choices: list[str], n: int = 3) -> str:
    """`` did you mean X, Y?`` for close matches of ``word`` in ``choices`` (case-insensitive)."""
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    if not hits:
        hits = [c for c in lowered if c.startswith(word.lower())][:n]
    return f"; did you mean {', '.join(lowered[h] for h in hits)}?" if hits else ""

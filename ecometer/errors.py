"""Error types shared across layers, and how the command line tells input errors apart."""

from __future__ import annotations


class EcometerError(Exception):
    """Base of ecometer's own errors."""


class InputError(EcometerError, ValueError):
    """Bad input from a user: a file, an argument or a value. The message names it."""


def is_input_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a user-input error that the CLI prints as one line (exit 2)."""
    from ecometer.record import RecordError

    return isinstance(exc, (InputError, RecordError, FileNotFoundError))

"""Error types of the footprint layer (all are user-input errors)."""

from __future__ import annotations

import difflib

from ecometer.errors import InputError


class SiteError(InputError):
    """A site value, preset, country or profile is invalid. The message names it."""


class FootprintError(InputError):
    """The footprint cannot be computed from what was given. The message says what is missing."""


def suggest(word: str, choices: list[str], n: int = 3) -> str:
    """`` did you mean X, Y?`` for close matches of ``word`` in ``choices`` (case-insensitive)."""
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    if not hits:
        hits = [c for c in lowered if c.startswith(word.lower())][:n]
    return f"; did you mean {', '.join(lowered[h] for h in hits)}?" if hits else ""

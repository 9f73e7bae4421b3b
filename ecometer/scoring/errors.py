"""The error a bad standard raises, naming the file, the line, the field, what was found and expected."""

from __future__ import annotations

import re

from ecometer.errors import InputError


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

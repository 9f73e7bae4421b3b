"""Write a standard's TOML-shaped dictionary back to TOML text the loader accepts.

Only the shapes a standard uses are supported: tables of scalars, lists of scalars, inline
tables of scalars (class match rules), nested tables (metrics, classes) and one array of
tables (``[[limits]]``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ecometer.checks.text import json_text, without_surrogates

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else _string(k)


def _string(text: str) -> str:
    """A TOML basic string: hidden characters as ``\\uXXXX`` escapes; a lone surrogate (which TOML
    cannot hold) as its visible escape ``\\xff``."""
    return json_text(without_surrogates(text))


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v.is_integer() and abs(v) >= 1e6:
            mantissa, exponent = f"{v:.15e}".split("e")
            short = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
            if float(short) == v:
                return short
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _assign(k: str, v: Any) -> str:
    """``key = value``; long lists are written one item per line."""
    line = f"{_key(k)} = {_value(v)}"
    if len(line) > 100 and isinstance(v, list) and v:
        items = "".join(f"    {_value(x)},\n" for x in v)
        return f"{_key(k)} = [\n{items}]"
    return line


def _is_table(v: Any) -> bool:
    return isinstance(v, dict)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _emit(
    out: list[str], path: list[str], table: dict[str, Any], *, array: bool = False, inline: tuple[str, ...] = ()
) -> None:
    scalars = {k: v for k, v in table.items() if k in inline or not (_is_table(v) or _is_table_array(v))}
    if path:
        if out:
            out.append("")
        name = ".".join(_key(p) for p in path)
        out.append(f"[[{name}]]" if array else f"[{name}]")
    for k, v in scalars.items():
        out.append(_assign(k, v))
    for k, v in table.items():
        if k in scalars:
            continue
        if _is_table(v):
            _emit(out, [*path, k], v, inline=("match",))
        else:
            for item in v:
                _emit(out, [*path, k], item, array=True)


def to_toml(data: dict[str, Any], *, header: str | None = None) -> str:
    """TOML text for a standard's dictionary (see :meth:`Standard.to_dict`)."""
    out: list[str] = []
    if header:
        out.extend(f"# {line}".rstrip() for line in header.splitlines())
        out.append("")
    body: list[str] = []
    for k, v in data.items():
        if _is_table(v) and k in ("metrics", "classes"):
            for name, sub in v.items():
                _emit(body, [k, name], sub, inline=("match",))
        elif _is_table(v):
            _emit(body, [k], v)
        elif _is_table_array(v):
            for item in v:
                _emit(body, [k], item, array=True)
        else:
            body.insert(0, _assign(k, v))
    return "\n".join(out + body) + "\n"

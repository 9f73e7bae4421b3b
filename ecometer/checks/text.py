"""Text from records, corpora and standards, made safe wherever it is printed or written.

Names (of runs, phases, work units, components), grade labels, warnings and messages are data:
a run may be named ``$'bad\\xffname'`` (a lone surrogate in Python), ``'\\x1b[2J'`` (an ANSI
escape that clears the terminal) or ``'\\u202eevil'`` (a bidi override that reverses what
follows). :func:`display_text` is the one way such text is shown: every character that is not
printable (C0/C1 controls, format characters such as zero-width and bidi marks, line and
paragraph separators, lone surrogates, unassigned code points) is written as a visible escape
(``\\x1b``, ``\\u202e``; a surrogate that stands for an undecodable byte as ``\\xff``, the byte
it was). It is used by the command line's output streams (:func:`display_streams`), the HTML
report, chart labels, markdown tables; :func:`json_text` is its lossless twin for JSON files.

On a stream that cannot encode a character (``PYTHONIOENCODING=ascii``), the command line
writes ecometer's own symbols in ASCII (``–`` as ``-``, ``±`` as ``+/-``) and escapes the rest
as ``\\u00e9`` (:data:`ERRORS`, a codec error handler), so no output raises ``UnicodeEncodeError``.

:func:`hidden_characters`, :func:`label_key` and :func:`scripts` are the checks a standard's
grade labels pass (no hidden characters; unique once NFKC-normalised; one script, so that Latin
``A`` and Cyrillic ``А`` cannot be two grades).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import sys
import unicodedata
from collections.abc import Iterator
from typing import Any, TextIO

ERRORS = "ecometer-display"  #: the codec error handler for text streams (registered on import)

# Anything outside printable ASCII, newline and tab may need a look; most of it is printable.
_SUSPECT = re.compile(r"[^\x20-\x7e]+")
_SUSPECT_MULTILINE = re.compile(r"[^\x20-\x7e\n\t]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_KINDS = {"Cc": "(a control character)", "Cs": "(a surrogate: an undecodable byte)", "Co": "(a private-use character)",
          "Cn": "(an unassigned code point)", "Cf": "(a format character)"}  # fmt: skip
# Printable per Python but drawn as nothing (or as a blank): the combining grapheme joiner, Hangul
# fillers, Khmer inherent vowels, Mongolian and Unicode variation selectors, the Braille blank.
_HIDDEN_EXTRA = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
    + "".join(map(chr, [*range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]))
)
_ASCII = {
    "–": "-", "—": "--", "−": "-", "‐": "-", "·": ".", "…": "...", "±": "+/-", "×": "x", "÷": "/",
    "≤": "<=", "≥": ">=", "≈": "~", "µ": "u", "μ": "u", "°": "deg", "²": "2", "³": "3", "★": "*",
    "☆": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "→": "->", "←": "<-", "✓": "ok", "✗": "x",
}  # fmt: skip


def escape_char(ch: str) -> str:
    """One character as a visible escape: ``\\x1b``, ``\\u202e``, ``\\U000e0001``; a surrogate
    ``U+DC80``..``U+DCFF`` (an undecodable byte kept by Python) as that byte, ``\\xff``."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def hidden(ch: str) -> bool:
    """Whether ``ch`` would not show as itself: a control, format (zero-width, bidi), separator
    other than the space, surrogate, private-use or unassigned character, or one drawn as nothing
    (a variation selector, a Hangul filler...)."""
    return not ch.isprintable() or ch in _HIDDEN_EXTRA


def _escape_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return "".join(escape_char(c) if hidden(c) else c for c in run)


def display_text(value: Any, *, multiline: bool = False, limit: int | None = None) -> str:
    """``value`` as text that is safe to show anywhere: every hidden character (see :func:`hidden`)
    escaped visibly; ``multiline`` keeps newlines and tabs; ``limit`` cuts it to that many
    characters (with ``...``). The result encodes as UTF-8 always."""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 3, 0)] + "..."
    if text.isascii() and text.isprintable():
        return text
    return (_SUSPECT_MULTILINE if multiline else _SUSPECT).sub(_escape_run, text)


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its visible escape (``\\xff``): for formats
    that cannot hold one even escaped (TOML)."""
    return _SURROGATE.sub(lambda m: escape_char(m.group(0)), text)


def hidden_characters(text: str) -> list[str]:
    """The hidden characters of ``text`` (see :func:`hidden`), each named: ``U+200B ZERO WIDTH SPACE``."""
    return [f"U+{ord(c):04X} {unicodedata.name(c, '') or _KINDS.get(unicodedata.category(c), 'unnamed')}"
            for c in dict.fromkeys(text) if hidden(c)]  # fmt: skip


def label_key(text: str) -> str:
    """How labels are compared: NFKC-normalised, surrounding spaces removed (``'Ａ'`` is ``'A'``)."""
    return unicodedata.normalize("NFKC", text).strip()


def scripts(text: str) -> set[str]:
    """The scripts of the letters of ``text`` once NFKC-normalised (``{'LATIN'}``, ``{'CYRILLIC'}``);
    digits, signs and spaces belong to none."""
    out = set()
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isalpha():
            out.add(unicodedata.name(ch, "UNKNOWN").split(" ")[0].split("-")[0])
    return out


def json_text(value: Any, **kwargs: Any) -> str:
    """``json.dumps(value, **kwargs)`` that is lossless and safe to show: non-ASCII text is kept
    as written except hidden characters (see :func:`hidden`), which are written as JSON ``\\uXXXX``
    escapes (a lone surrogate included, so the text always encodes as UTF-8)."""
    kwargs.setdefault("ensure_ascii", False)
    text = json.dumps(value, **kwargs)
    if text.isascii():
        return text
    return _SUSPECT.sub(lambda m: "".join(_json_escape(c) if hidden(c) else c for c in m.group(0)), text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _encode_errors(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: what a stream cannot encode, as ASCII (ecometer's own symbols) or an escape."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(_ASCII.get(c) or _unicode_escape(c) for c in bad), exc.end


def _unicode_escape(ch: str) -> str:
    """``\\u00e9`` (valid in JSON, TOML and Python text alike); an undecodable byte as ``\\xff``."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return escape_char(ch)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


codecs.register_error(ERRORS, _encode_errors)


class DisplayStream:
    """A text stream that shows what it is given through :func:`display_text` (newlines and tabs
    kept) and never fails to encode. :meth:`write_control` writes ecometer's own terminal
    controls (``\\r\\033[K`` of the status line) as they are."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):  # a stream that cannot be reconfigured keeps its own
                reconfigure(errors=ERRORS)

    def write(self, text: str) -> int:
        self.stream.write(display_text(text, multiline=True))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def write_control(self, text: str) -> None:
        self.stream.write(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, buffer...
        return getattr(self.stream, name)


def write_control(stream: Any, text: str) -> None:
    """Write a terminal control sequence of ecometer's own (not data) to ``stream`` as it is."""
    (stream.write_control if isinstance(stream, DisplayStream) else stream.write)(text)


@contextlib.contextmanager
def display_streams() -> Iterator[None]:
    """While inside, ``sys.stdout`` and ``sys.stderr`` are :class:`DisplayStream` s (a closed
    stream, ``None``, stays as it is); restored on the way out."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if s is None or isinstance(s, DisplayStream) else DisplayStream(s) for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved

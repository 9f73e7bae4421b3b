"""The ``ecometer`` command line.

Each subcommand lives in its own module under :mod:`ecometer.commands` (besides the helper
modules named in :data:`HELPER_MODULES`) and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` as the
parser default. Command modules import heavy libraries inside ``func`` only, so that
``ecometer --help`` stays fast.

Exit codes: 0 success, 1 the command's own failure (e.g. a hard limit failed), 2 usage or
input errors (one clear line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import re
import sys
from typing import NoReturn

from ecometer._version import __version__
from ecometer.errors import is_input_error

log = logging.getLogger("ecometer")

#: modules of :mod:`ecometer.commands` that serve the commands and are not commands themselves
HELPER_MODULES = frozenset({"cli", "child", "options", "streams", "trampoline", "watchdog", "workloads"})



class Parser(argparse.ArgumentParser):
    """The parser of ``ecometer`` and of each command: a usage error (a missing argument, a numeric
    option that is not a finite number in its range) is one line, ``ecometer run: error: --work
    '-3': expected a finite number >= 0; see 'ecometer run --help'``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument (-\S+?)(/-\S+)?: '", r"\1 '", message)  # "--work '-3': expected..."
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def command_names() -> list[str]:
    """The subcommands (the public modules of :mod:`ecometer.commands`), without importing them."""
    import ecometer.commands as commands_pkg

    names = (m.name for m in pkgutil.iter_modules(commands_pkg.__path__))
    return sorted(n for n in names if not n.startswith("_") and n not in HELPER_MODULES)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``only`` (a command named on the command line:
    the other command modules are not imported, which is most of a short run's start-up)."""
    parser = Parser(
        prog="ecometer",
        description="Measure the energy, water and carbon of ML jobs and score them against efficiency standards.",
        epilog="Run 'ecometer COMMAND --help' for the options and examples of each command.",
    )
    parser.add_argument("--version", action="version", version=f"ecometer {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [only] if only else command_names():
        importlib.import_module(f"ecometer.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; everything it prints goes through
    :func:`~ecometer.checks.text.display_text` (names from records cannot garble the terminal or
    fail to encode)."""
    from ecometer.checks.text import display_streams
    from ecometer.commands.streams import ensure_standard_streams

    ensure_standard_streams()  # ``2>&-``: messages go nowhere, as asked, instead of failing the command
    with display_streams():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    first = next((w for w in words if not w.startswith("-")), None)  # the command, after -v
    parser = build_parser(first if first in command_names() else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="ecometer: %(levelname)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("ecometer: interrupted\n")
        return 130
    except Exception as exc:  # the library's own input errors become one clear line
        if is_input_error(exc):
            sys.stderr.write(f"ecometer {args.command}: error: {exc}\n")
            return 2
        raise

"""Every command's help has a description and examples, and no help line stops mid-sentence (issue 26)."""

from __future__ import annotations

import argparse

import pytest

from ecometer.commands.cli import build_parser

STOP_WORDS = {"a", "an", "the", "of", "or", "and", "not", "to", "for", "with", "are", "is"}


def _commands() -> list[tuple[str, argparse.ArgumentParser, str]]:
    """(name, parser, one-line help) of every command and sub-command."""
    out = []
    stack = [("ecometer", build_parser(), "")]
    while stack:
        name, parser, help_text = stack.pop()
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if name != "ecometer" and not subs:
            out.append((name, parser, help_text))
        for action in subs:
            helps = {c.dest: c.help for c in action._choices_actions}
            for sub_name, sub_parser in action.choices.items():
                stack.append((f"{name} {sub_name}", sub_parser, helps.get(sub_name) or ""))
    return sorted(out, key=lambda c: c[0])


COMMANDS = _commands()


@pytest.mark.parametrize("name, parser, help_text", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_has_a_description_an_example_and_a_whole_help_line(name, parser, help_text):
    assert parser.description and len(parser.description) > 30, name
    assert parser.epilog and "example" in parser.epilog and f"{name} " in parser.epilog, name
    assert help_text, name
    assert help_text.split()[-1].lower().strip(".,;:") not in STOP_WORDS, f"{name}: {help_text!r}"
    for action in parser._actions:
        if action.option_strings and action.option_strings[0] in ("-h", "--help"):
            continue
        assert action.help, f"{name} {action.option_strings or action.dest}: no help"


def test_the_standard_actions_are_all_there():
    names = {c[0] for c in COMMANDS}
    assert {f"ecometer standard {a}" for a in ("list", "check", "show", "diff", "sensitivity")} <= names

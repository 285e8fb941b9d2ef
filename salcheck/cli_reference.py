"""docs/cli.md, written from the parser itself: every sub-command with every option it takes.

Options that three or more commands share with one meaning are described once. A test compares
the committed page with :func:`markdown`, so a new or changed option fails until the page is
rewritten: ``python -m salcheck.cli_reference > docs/cli.md``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from salcheck.cli import build_parser

#: A shared option is taken by at least this many commands, with one help text.
SHARED_BY = 3


def _subcommands(
    parser: argparse.ArgumentParser,
) -> tuple[dict[str, argparse.ArgumentParser], dict[str, str]]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in action._choices_actions}
    return dict(action.choices), helps


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The Markdown of docs/cli.md for ``parser`` (default salcheck's)."""
    commands, helps = _subcommands(parser or build_parser())
    uses: dict[str, set[str]] = defaultdict(set)
    for sp in commands.values():
        for a in sp._actions:
            for o in a.option_strings:
                uses[o].add(a.help or "")
    counts = {o: sum(o in sp._option_string_actions for sp in commands.values()) for o in uses}
    shared = {o for o in uses if counts[o] >= SHARED_BY and len(uses[o]) == 1 and o != "--help"}
    out = [
        "# Command line",
        "",
        "Every sub-command of `salcheck` with every option it takes, written from the parser",
        "(`python -m salcheck.cli_reference > docs/cli.md`; a test keeps the two equal). Options",
        "that several commands share are described once, under [Shared options](#shared-options).",
        "",
    ]
    for name, sp in commands.items():
        summary = helps.get(name, "").rstrip(".")
        out += [f"## salcheck {name}", "", summary[:1].upper() + summary[1:] + ".", ""]
        rows = []
        for a in sp._actions:
            if not a.option_strings:
                choices = f" (one of {', '.join(map(str, a.choices))})" if a.choices else ""
                rows.append(f"| `{a.dest}` | {_cell(a.help)}{choices} |")
            elif a.option_strings[0] != "-h" and not set(a.option_strings) & shared:
                rows.append(f"| `{', '.join(a.option_strings)}` | {_cell(a.help)} |")
        if rows:
            out += ["| argument | meaning |", "|---|---|", *rows, ""]
        mine = [o for a in sp._actions for o in a.option_strings if o in shared]
        if mine:
            out += ["Shared options: " + ", ".join(f"`{o}`" for o in mine) + ".", ""]
    out += ["## Shared options", "", "| option | meaning |", "|---|---|"]
    out += [f"| `{o}` | {_cell(next(iter(uses[o])))} |" for o in sorted(shared)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")

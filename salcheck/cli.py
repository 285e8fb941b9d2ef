"""The ``salcheck`` command line: one parser wiring the sub-commands of
:mod:`salcheck.commands` (thin wrappers over the library's stages), and :func:`main`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from salcheck.commands.checks import add_baseline, add_check
from salcheck.commands.generate import add_generate
from salcheck.commands.grid import add_report, add_run, add_verdicts
from salcheck.commands.store import add_status, add_store, add_zoo
from salcheck.commands.studies import add_benchmark, add_dose, add_networks, add_protocol
from salcheck.errors import SalcheckError
from salcheck.options import apply_no_zoo

#: Each adds its sub-command to the parser, in the order ``salcheck --help`` lists them.
COMMANDS: list[Callable[[Any], None]] = [
    add_generate,
    add_run,
    add_report,
    add_benchmark,
    add_networks,
    add_protocol,
    add_dose,
    add_verdicts,
    add_check,
    add_baseline,
    add_status,
    add_store,
    add_zoo,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salcheck", description="Property checks for saliency methods on simulated phantoms."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    apply_no_zoo(bool(getattr(args, "no_zoo", False)))
    try:
        return int(args.func(args))
    except SalcheckError as exc:
        print(f"salcheck {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"salcheck {args.command}: interrupted; finished results are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

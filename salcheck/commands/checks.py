"""``salcheck check`` and ``baseline``: the check suite run on a saliency method, and the
baseline of its scores that later runs are compared against."""

from __future__ import annotations

import argparse
from typing import Any

from salcheck.commands.shared import store_of, tier_of
from salcheck.options import add_arguments


def add_check(sub: Any) -> None:
    c = sub.add_parser("check", help="run the check suite on a saliency method")
    c.add_argument(
        "method", help="a catalogue name, MODULE:OBJECT (a salcheck method or a captum class)"
    )
    c.add_argument("--baseline", help="a file written by `salcheck baseline save`")
    c.add_argument(
        "--tolerance",
        type=float,
        default=2.0,
        help="allowed drop below the baseline, in baseline seed sd (default 2)",
    )
    add_arguments(c, ("tier", "network", "store", "workers", "device"))
    c.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from salcheck.checks import compare_baseline, run_suite  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    method = resolve(args.method)
    store = store_of(args)
    results = list(
        run_suite(method, tier=tier_of(args), store=store, workers=args.workers, device=args.device)
    )
    if args.baseline:
        results.append(
            compare_baseline(
                method, args.baseline, tolerance=args.tolerance, tier=tier_of(args), store=store
            )
        )
    for r in results:
        print(r.message())
    failed = [r.check for r in results if not r.passed]
    print(
        f"salcheck check: {len(results) - len(failed)} passed, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
    )
    return 1 if failed else 0


def add_baseline(sub: Any) -> None:
    b = sub.add_parser("baseline", help="save a method's scores to compare later runs against")
    b.add_argument("action", choices=["save"], help="save: write the method's scores to FILE")
    b.add_argument("method", help="a catalogue name or MODULE:OBJECT")
    b.add_argument("file", help="the baseline file (JSON) to write")
    add_arguments(b, ("tier", "network", "store"))
    b.set_defaults(func=cmd_baseline)


def cmd_baseline(args: argparse.Namespace) -> int:
    from salcheck.checks import save_baseline  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    data = save_baseline(resolve(args.method), args.file, tier=tier_of(args), store=store_of(args))
    print(f"salcheck baseline: wrote {args.file} for {data['method']} (tier {data['tier']})")
    return 0

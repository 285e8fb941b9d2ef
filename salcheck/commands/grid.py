"""``salcheck run``, ``report`` and ``verdicts``: the tier's grid of cells computed, rendered as
the poster's tables, and decided (and recorded for the property suite)."""

from __future__ import annotations

import argparse
from typing import Any

from salcheck.commands.shared import execute_plan, results_view, store_of, tier_of
from salcheck.options import REPORT, RUN, add_arguments


def add_run(sub: Any) -> None:
    r = sub.add_parser("run", help="train and evaluate a grid of dataset x variant x seed cells")
    r.add_argument("--datasets", nargs="+", help="homogeneous, heterogeneous, large, homogeneous-steps")
    r.add_argument(
        "--variants",
        nargs="+",
        help="default, CropPad, Erasing, Noise, Smoothing, L1, L1Norm, SmoothL1, "
        "MSENorm, or combinations such as Noise+L1 (default: the poster's)",
    )
    r.add_argument(
        "--parts",
        nargs="*",
        default=["features", "maps"],
        choices=("features", "maps", "randomisation"),
        help="evaluation parts to compute (default: features maps; none: train only)",
    )
    add_arguments(r, ("methods", *RUN))
    r.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from salcheck.engine.plan import cells_plan  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    tier = tier_of(args)
    methods = [resolve(m) for m in (args.methods or [args.method])]  # fails before any training
    cells = tier.cells(args.datasets, args.variants)
    plan = cells_plan(tier, cells, methods=methods, parts=args.parts, seeds=args.seeds)
    return 1 if execute_plan(plan, store_of(args), args, "run") else 0


def add_report(sub: Any) -> None:
    rep = sub.add_parser("report", help="render the poster's tables from the store as Markdown")
    rep.add_argument(
        "--evaluate-only",
        action="store_true",
        help="with --run: evaluate the models the store holds, train none (cells it lacks are "
        "reported missing)",
    )
    rep.add_argument(
        "--beside",
        default="properties/verdicts",
        metavar="DIR",
        help="for a tier other than ci, print the ci verdicts recorded under DIR beside its own "
        "(default properties/verdicts)",
    )
    add_arguments(rep, (*REPORT, *RUN))
    rep.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from salcheck.engine.plan import report_plan  # CLI start-up
    from salcheck.report import render_report  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    method = resolve(args.method)
    tier = tier_of(args)
    if args.run:
        plan = report_plan(tier, method, seeds=args.seeds)
        if execute_plan(plan, store_of(args), args, "report"):
            print("salcheck report: some tasks failed; their cells are marked missing")
    view = results_view(args, method)
    if tier.dims == 3:  # a tier of volumes: its own page (no poster numbers, no ci beside it)
        from salcheck.report.volume_page import render_volume_report  # CLI start-up

        print(f"salcheck report: wrote {render_volume_report(view, args.out)}")
        return 0
    beside = None
    if args.tier != "ci" and args.beside:
        from salcheck.report.verdict_table import Beside  # CLI start-up
        from salcheck.science.verdicts import recorded_outcomes  # CLI start-up

        ci = tier_of(argparse.Namespace(tier="ci", network=getattr(args, "network", None)))
        outcomes, seeds = recorded_outcomes(args.beside, ci.tag, view.method_name)
        beside = Beside("ci tier", outcomes, seeds) if outcomes else None
    path = render_report(view, args.out, beside=beside)
    print(f"salcheck report: wrote {path}")
    return 0


def add_verdicts(sub: Any) -> None:
    v = sub.add_parser(
        "verdicts",
        help="decide every comparison from the store; --write records them for the property suite",
    )
    v.add_argument(
        "--write", metavar="DIR", help="write <tier>-<method>.json under DIR (e.g. properties/verdicts)"
    )
    add_arguments(v, ("run", *RUN))
    v.set_defaults(func=cmd_verdicts)


def cmd_verdicts(args: argparse.Namespace) -> int:
    from salcheck.engine.plan import in_grid, report_plan  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up
    from salcheck.science.findings import ALL  # CLI start-up
    from salcheck.science.verdicts import build_record, write_record  # CLI start-up

    method = resolve(args.method)
    tier = tier_of(args)
    if args.run:
        plan = report_plan(tier, method, seeds=args.seeds)
        execute_plan(plan, store_of(args), args, "verdicts")
    view = results_view(args, method)
    # only what the tier's grid can decide: a cell outside it (a variant at ci3d) that the
    # store happens to hold is no verdict of the tier
    comparisons = {c.key: c for c in in_grid(tier, ALL.values())}
    if args.write:
        path = write_record(view, args.write, comparisons)
        print(f"salcheck verdicts: wrote {path}")
        return 0
    record = build_record(view, comparisons)
    for key, v in record["verdicts"].items():
        p = "–" if v["p_forward"] is None else f"{v['p_forward']:.3g}"
        print(f"{v['outcome']:13} {key:42} p = {p:6}  {v['claim']}")
    return 0

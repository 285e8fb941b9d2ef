"""``salcheck benchmark``, ``networks``, ``protocol`` and ``dose``: the studies of
:mod:`salcheck.studies`, each computed into the store (with ``--run``) and rendered as a page."""

from __future__ import annotations

import argparse
from typing import Any

from salcheck.commands.shared import execute_plan, require_plan, results_view, store_of, tier_of
from salcheck.options import REPORT, RUN, add_arguments


def add_benchmark(sub: Any) -> None:
    from salcheck.saliency.catalogue import METHODS, ON_REQUEST  # CLI start-up

    b = sub.add_parser(
        "benchmark",
        help="benchmark saliency methods on the same models; writes <out>/<tier>-methods.md",
    )
    every = (
        f"(default: the {len(METHODS)} catalogued methods; {', '.join(ON_REQUEST)} on request; "
        "the null maps always added)"
    )
    methods = {"help": f"catalogue names or MODULE:OBJECT {every}"}
    add_arguments(b, ("methods", *REPORT, *(n for n in RUN if n != "method")), methods=methods)
    b.set_defaults(func=cmd_benchmark)


def cmd_benchmark(args: argparse.Namespace) -> int:
    from salcheck.report.methods_page import render_benchmark  # CLI start-up
    from salcheck.studies.method_benchmark import (  # CLI start-up
        benchmark_plan,
        collect,
        default_methods,
    )

    tier = tier_of(args)
    store = store_of(args)
    plan, refs = benchmark_plan(tier, args.methods or default_methods(), seeds=args.seeds)
    if args.run:
        execute_plan(plan, store, args, "benchmark")
    else:
        require_plan(plan, store, "benchmark")
    bench = collect(tier, store, refs, seeds=args.seeds)
    path = render_benchmark(bench, args.out)
    print(f"salcheck benchmark: wrote {path}")
    return 0


def add_networks(sub: Any) -> None:
    from salcheck.studies.network_benchmark import DEFAULT_METHODS, DEFAULT_NETWORKS  # CLI start-up

    n = sub.add_parser(
        "networks",
        help="the same saliency methods on several networks' default models; writes "
        "<out>/<tier>-networks.md",
    )
    n.add_argument(
        "--networks",
        nargs="+",
        default=list(DEFAULT_NETWORKS),
        metavar="NETWORK",
        help=f"networks to compare (default: {' '.join(DEFAULT_NETWORKS)})",
    )
    methods = {
        "default": list(DEFAULT_METHODS),
        "help": f"saliency methods (default: {' '.join(DEFAULT_METHODS)}; the null maps always added)",
    }
    add_arguments(
        n, ("methods", *REPORT, *(o for o in RUN if o not in ("method", "network"))), methods=methods
    )
    n.set_defaults(func=cmd_networks)


def cmd_networks(args: argparse.Namespace) -> int:
    from salcheck.report.networks_page import render_networks  # CLI start-up
    from salcheck.studies.network_benchmark import collect, network_plan  # CLI start-up

    tier = tier_of(args)
    store = store_of(args)
    plan, refs = network_plan(tier, args.networks, args.methods, seeds=args.seeds)
    if args.run:
        execute_plan(plan, store, args, "networks")
    else:
        require_plan(plan, store, "networks")
    bench = collect(tier, store, args.networks, refs, seeds=args.seeds)
    path = render_networks(bench, args.out)
    print(f"salcheck networks: wrote {path}")
    return 0


def add_protocol(sub: Any) -> None:
    p = sub.add_parser(
        "protocol",
        help="measure each open choice of the protocol against the poster; writes "
        "<out>/<tier>-protocol.md",
    )
    add_arguments(p, (*REPORT, *RUN))
    p.set_defaults(func=cmd_protocol)


def cmd_protocol(args: argparse.Namespace) -> int:
    from salcheck.report.protocol_page import render_protocol  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up
    from salcheck.studies.protocol import adopted_plan, collect, protocol_plan  # CLI start-up

    tier = tier_of(args)
    method = resolve(args.method)  # once, for every plan and the page
    store = store_of(args)
    if args.run:
        execute_plan(protocol_plan(tier, method, seeds=args.seeds), store, args, "protocol")
        execute_plan(adopted_plan(store, tier, method, seeds=args.seeds), store, args, "protocol")
    rows = collect(store, tier, method, seeds=args.seeds)
    seeds = tuple(args.seeds or tier.seeds)
    path = render_protocol(rows, tier, seeds, args.out)
    print(f"salcheck protocol: wrote {path}")
    return 0


def add_dose(sub: Any) -> None:
    d = sub.add_parser(
        "dose",
        help="criteria against the number of atypical training images; writes <out>/<tier>-dose.md",
    )
    d.add_argument(
        "--route",
        default="both",
        metavar="{size,share,both}",
        help="size: images per class at the homogeneous mix; share: the atypical share at the "
        "tier's homogeneous size; both (default) also decides whether they fall on one curve",
    )
    d.add_argument(
        "--extended",
        action="store_true",
        help="add 8,000 per class to the size route (as much training as the rest of the ci run)",
    )
    d.add_argument(
        "--write",
        metavar="DIR",
        help="record the dose verdicts the property suite gates on, as "
        "<tier>-<method>-dose.json under DIR (e.g. properties/verdicts)",
    )
    add_arguments(d, (*REPORT, *RUN))
    d.set_defaults(func=cmd_dose)


def cmd_dose(args: argparse.Namespace) -> int:
    from salcheck.report.dose_page import render_dose  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up
    from salcheck.studies.dose import collect, decide  # CLI start-up
    from salcheck.studies.dose_grid import DoseGrid, check_routes, dose_plan  # CLI start-up

    tier = tier_of(args)
    routes = check_routes(args.route)  # fails before any training
    method = resolve(args.method)  # once, for the plan, the curves and the record
    grid = DoseGrid.extended() if args.extended else DoseGrid()
    store = store_of(args)
    if args.run:
        plan = dose_plan(tier, method, routes, seeds=args.seeds, grid=grid)
        execute_plan(plan, store, args, "dose")
    data = collect(store, tier, method, routes, seeds=args.seeds, grid=grid)
    verdicts = decide(data)
    path = render_dose(data, verdicts, args.out)
    print(f"salcheck dose: wrote {path}")
    if args.write:
        print(f"salcheck dose: wrote {_write_dose_record(args, method, data, verdicts)}")
    return 0


def _write_dose_record(args: argparse.Namespace, method: Any, data: Any, verdicts: Any) -> Any:
    """The dose verdicts the property suite gates on: its own size-route trends and, from the
    whole curve, b†'s trends and the routes' collapse."""
    from salcheck.studies.dose_record import (  # CLI start-up
        full_decisions,
        property_trends,
        write_dose_record,
    )

    view = results_view(args, method)
    decisions = {**property_trends(view), **full_decisions(data, verdicts)}
    return write_dose_record(view, decisions, args.write)

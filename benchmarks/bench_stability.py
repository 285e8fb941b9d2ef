"""Verdict stability: do the verdicts survive other seeds and another float path?

Decides every comparison of ``salcheck.science.findings.ALL`` (for the study's gradient, beyond
the null maps) whose cells are computed three times:
the reference (the tier's seeds, one torch thread per worker, in ``--store``, which reads the
zoo), on disjoint seeds (``--other-seeds``, same store), and on the tier's seeds on another float
path, in a separate store that reads no zoo (float paths do not enter a model's key):
``--float-path grouped`` (default) trains each cell's seeds as one grouped network
(``--batch-models``; the same cohorts, initial weights, data order and stop rule, other rounding;
it costs what the reference costs), ``threads`` trains one model at a time with ``--threads``
torch threads in one worker (1.7x per model here). Counts the comparisons that move between
replicated and contradicted (must be 0) and those that move to or from inconclusive
(:mod:`salcheck.science.stability`), and with ``--write DIR`` writes the measurement that sets
the gate's threshold, ``DIR/<tier>-stability.json``.

``--cells`` restricts the grid (default: every cell of the tier), e.g. ``homogeneous:default``;
``--perturbed-cells`` restricts the float-path run further; ``--decide-only`` computes nothing
(every result must be there). Prints progress lines, then one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from salcheck.engine.plan import Plan, execute, report_plan
from salcheck.saliency.resolve import null_refs
from salcheck.science.findings import ALL
from salcheck.science.stability import DISJOINT_SEEDS, FLOAT_PATH, build_measurement, write_measurement
from salcheck.store.files import Store
from salcheck.store.tiers import get_tier
from salcheck.store.view import ResultsView


def _specs(tier, cells) -> list[tuple[str, str]]:
    """The (dataset, variant) of the models of ``cells`` (the F2 control trains the homogeneous
    set)."""
    return [(tier.spec(d, v).dataset, v) for d, v in cells]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--tier", default="ci")
    p.add_argument("--store", required=True, help="the reference store (the tier's seeds)")
    p.add_argument("--perturbed-store", required=True)
    p.add_argument("--other-seeds", type=int, nargs="+", default=list(range(10, 20)))
    p.add_argument("--float-path", choices=("grouped", "threads"), default="grouped")
    p.add_argument("--batch-models", type=int, default=10, help="seeds per grouped network")
    p.add_argument("--threads", type=int, default=2, help="torch threads of --float-path threads")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--cells", nargs="+", help="dataset:variant pairs (default: all)")
    p.add_argument("--perturbed-cells", nargs="+", help="cells of the float-path run (default: --cells)")
    p.add_argument("--decide-only", action="store_true", help="compute nothing; decide what is there")
    p.add_argument(
        "--float-path-only",
        action="store_true",
        help="neither compute nor report the disjoint seeds (the threshold reads the float path alone)",
    )
    p.add_argument("--write", metavar="DIR", help="write the measurement as DIR/<tier>-stability.json")
    return p


def main() -> None:
    args = _parser().parse_args()
    tier = get_tier(args.tier)
    parse = lambda names: [tuple(c.split(":")) for c in names]
    cells = parse(args.cells) if args.cells else tier.cells()
    perturbed_cells = parse(args.perturbed_cells) if args.perturbed_cells else cells
    keep = lambda plan, which: Plan(
        plan.test, tuple(t for t in plan.tasks if (t.spec.dataset, t.spec.variant) in set(which))
    )
    store, perturbed = Store(args.store), Store(args.perturbed_store, layers=())
    log = lambda o: print(o.line(), flush=True)
    # The float path first: it alone sets the gate's threshold.
    t = time.perf_counter()
    if not args.decide_only:
        plan = keep(report_plan(tier, "vanilla", seeds=tier.seeds), _specs(tier, perturbed_cells))
        grouped = args.float_path == "grouped"
        execute(
            plan,
            perturbed,
            workers=args.workers if grouped else 1,
            batch_models=args.batch_models if grouped else None,
            threads=None if grouped else args.threads,
            on_progress=log,
        )
    t_float = time.perf_counter() - t
    if not (args.decide_only or args.float_path_only):
        for seeds in (tier.seeds, args.other_seeds):
            plan = keep(report_plan(tier, "vanilla", seeds=seeds), _specs(tier, cells))
            execute(plan, store, workers=args.workers, on_progress=log)
    t_seeds = time.perf_counter() - t - t_float
    view = lambda s, seeds: ResultsView(s, tier, seeds=seeds, nulls=null_refs())
    decide = lambda v: v.decide_available(ALL)
    path = (
        f"each cell's {args.batch_models} seeds as one grouped network"
        if args.float_path == "grouped"
        else f"{args.threads} torch threads in one worker against 1 per worker"
    )
    reference = view(store, tier.seeds)
    reruns = {
        FLOAT_PATH: (
            {"seeds": list(tier.seeds), "cells": len(perturbed_cells), "float_path": path},
            decide(view(perturbed, tier.seeds)),
        )
    }
    if not args.float_path_only:
        reruns[DISJOINT_SEEDS] = (
            {"seeds": list(args.other_seeds), "cells": len(cells)},
            decide(view(store, args.other_seeds)),
        )
    measurement = build_measurement(
        tier.name, reference.method_name, list(tier.seeds), decide(reference), reruns
    )
    # Wall-clock minutes of what this run computed; None where it computed nothing (the
    # results were there already, so their cost was paid, and logged, by an earlier run).
    timed = lambda seconds, skipped: None if skipped else round(seconds / 60, 1)
    measurement["minutes"] = {
        "disjoint_seeds": timed(t_seeds, args.decide_only or args.float_path_only),
        "float_path": timed(t_float, args.decide_only),
    }
    if args.write:
        print(f"wrote {write_measurement(measurement, args.write)}", flush=True)
    summary = {
        "tier": tier.name,
        "gate_alpha": measurement["gate_alpha"],
        **{
            name: {k: r[k] for k in ("counts", "largest_drop")}
            for name, r in measurement["reruns"].items()
        },
        "minutes": measurement["minutes"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""Verdict stability: do the verdicts survive other seeds and another float path?

Decides every comparison of ``salcheck.science.findings.ALL`` (for the study's gradient, beyond
the null maps) whose cells are computed three times:
the reference (the tier's seeds, one torch thread per worker, in ``--store``), on disjoint
seeds (``--other-seeds``, same store), and on the tier's seeds with a perturbed float path
(``--threads`` torch threads in one worker, in a separate store, since thread counts do not
enter a model's key). Counts the comparisons that move between replicated and contradicted
(must be 0) and those that move to or from inconclusive.

``--cells`` restricts the grid (default: every cell of the tier), e.g. ``homogeneous:default``;
``--perturbed-cells`` restricts the perturbed run further (it costs 1.7x per model here).
Prints progress lines, then one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from salcheck.engine.plan import Plan, execute, report_plan
from salcheck.saliency.resolve import null_refs
from salcheck.science.findings import ALL
from salcheck.store.files import Store
from salcheck.store.tiers import get_tier
from salcheck.store.view import ResultsView


def verdicts(view: ResultsView) -> dict[str, str]:
    return {k: v.outcome for k, v in view.decide_available(ALL).items() if v is not None}


def compare(ref: dict[str, str], other: dict[str, str]) -> dict[str, int]:
    keys = ref.keys() & other.keys()
    flips = sum({ref[k], other[k]} == {"replicated", "contradicted"} for k in keys)
    to_inc = sum(ref[k] != "inconclusive" and other[k] == "inconclusive" for k in keys)
    from_inc = sum(ref[k] == "inconclusive" and other[k] != "inconclusive" for k in keys)
    undecidable = sum("undecidable" in (ref[k], other[k]) and ref[k] != other[k] for k in keys)
    return {
        "compared": len(keys),
        "same": sum(ref[k] == other[k] for k in keys),
        "replicated_contradicted_flips": flips,
        "to_inconclusive": to_inc,
        "from_inconclusive": from_inc,
        "to_or_from_undecidable": undecidable,
    }


def _specs(tier, cells) -> list[tuple[str, str]]:
    """The (dataset, variant) of the models of ``cells`` (the F2 control trains the homogeneous
    set)."""
    return [(tier.spec(d, v).dataset, v) for d, v in cells]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tier", default="ci")
    p.add_argument("--store", required=True, help="the reference store (the tier's seeds)")
    p.add_argument("--perturbed-store", required=True)
    p.add_argument("--other-seeds", type=int, nargs="+", default=[5, 6, 7, 8, 9])
    p.add_argument("--threads", type=int, default=2, help="torch threads of the perturbed run")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--cells", nargs="+", help="dataset:variant pairs (default: all)")
    p.add_argument("--perturbed-cells", nargs="+", help="cells of the perturbed run (default: --cells)")
    args = p.parse_args()
    tier = get_tier(args.tier)
    parse = lambda names: [tuple(c.split(":")) for c in names]
    cells = parse(args.cells) if args.cells else tier.cells()
    perturbed_cells = parse(args.perturbed_cells) if args.perturbed_cells else cells
    keep = lambda plan, which: Plan(
        plan.test, tuple(t for t in plan.tasks if (t.spec.dataset, t.spec.variant) in set(which))
    )
    store, perturbed = Store(args.store), Store(args.perturbed_store)
    log = lambda o: print(o.line(), flush=True)
    t = time.perf_counter()
    for seeds in (tier.seeds, args.other_seeds):
        plan = keep(report_plan(tier, "vanilla", seeds=seeds), _specs(tier, cells))
        execute(plan, store, workers=args.workers, on_progress=log)
    t_seeds = time.perf_counter() - t
    plan = keep(report_plan(tier, "vanilla", seeds=tier.seeds), _specs(tier, perturbed_cells))
    execute(plan, perturbed, workers=1, threads=args.threads, on_progress=log)
    t_threads = time.perf_counter() - t - t_seeds
    view = lambda s, seeds: ResultsView(s, tier, seeds=seeds, nulls=null_refs())
    ref = verdicts(view(store, tier.seeds))
    result = {
        "tier": tier.name,
        "cells": len(cells),
        "perturbed_cells": len(perturbed_cells),
        "reference_seeds": list(tier.seeds),
        "other_seeds": args.other_seeds,
        "perturbed_threads": args.threads,
        "disjoint_seeds": compare(ref, verdicts(view(store, args.other_seeds))),
        "float_path": compare(ref, verdicts(view(perturbed, tier.seeds))),
        "minutes": {"disjoint_seeds": round(t_seeds / 60, 1), "float_path": round(t_threads / 60, 1)},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Grid speed: the ci tier's grid for one seed into a fresh store, cold, then again warm.

Prints as its last line one JSON object: cold_s, warm_s, warm_over_cold (target <= 0.02) and
the number of models. ``--datasets`` / ``--variants`` run a slice of the grid; ``--workers``
processes (default: the CPU count) train with one torch thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from salcheck.engine.plan import run_grid
from salcheck.store.files import Store
from salcheck.store.tiers import get_tier


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", nargs="+")
    p.add_argument("--variants", nargs="+")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = p.parse_args()
    tier = get_tier("ci")
    specs = tier.grid(args.datasets, args.variants, [args.seed])
    with tempfile.TemporaryDirectory() as root:
        store = Store(root)
        t = time.perf_counter()
        run_grid(
            specs,
            store,
            test=tier.test(),
            workers=args.workers,
            on_cell=lambda o: print(o.line(), flush=True),
        )
        cold = time.perf_counter() - t
        t = time.perf_counter()
        outcomes = run_grid(specs, store, test=tier.test(), workers=args.workers)
        warm = time.perf_counter() - t
    assert all(o.cached for o in outcomes)
    print(
        json.dumps(
            {
                "models": len(specs),
                "cold_s": round(cold, 1),
                "warm_s": round(warm, 3),
                "warm_over_cold": round(warm / cold, 5),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Judging a new method on models trained once: the property suite's time for a new method.

With the tier's models in ``--store`` (trained by ``salcheck run``), times the whole property
suite (``pytest properties/ --salcheck-method M``) for each new gradient-type method, against
the same suite cold: measured here with ``--cold`` (a fresh store: trains every model, about
45 minutes at the ci tier on 2 cores), else estimated from the training and evaluation times
recorded in the store divided by the workers (said so in the output). The suite's own verdicts
for these methods are reported, not asserted: this measures time.

Prints one line per run, then one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from salcheck.store.files import Store


def suite(method: str, store: str, workers: int) -> tuple[float, str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "properties",
        "-q",
        "-p",
        "no:cacheprovider",
        "--salcheck-method",
        method,
        "--salcheck-store",
        store,
        "--salcheck-workers",
        str(workers),
    ]
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - t
    summary = next(
        (ln for ln in reversed(out.splitlines()) if re.search(r"\d+ (passed|failed)", ln)), ""
    )
    print(f"{method}: {seconds:.0f}s  {summary.strip('= ')}", flush=True)
    return seconds, summary.strip("= ")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--store", required=True, help="a store holding the tier's trained models")
    p.add_argument(
        "--methods", nargs="+", default=["captum.attr:Saliency", "captum.attr:InputXGradient"]
    )
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--cold", action="store_true", help="also run the suite in a fresh store")
    args = p.parse_args()
    warm = {m: suite(m, args.store, args.workers) for m in args.methods}
    if args.cold:
        with tempfile.TemporaryDirectory() as fresh:
            cold_s, _ = suite("vanilla", fresh, args.workers)
        source = "measured: the suite in a fresh store"
    else:
        store = Store(args.store)
        total = sum(
            e.get("timings", {}).get("train_s", 0) + e.get("timings", {}).get("cohort_s", 0)
            for e in store.scan("models")[0]
        )
        cold_s = total / args.workers
        source = f"estimated: recorded training time of the store's models / {args.workers}"
    print(
        json.dumps(
            {
                "warm_s": {m: round(s, 1) for m, (s, _) in warm.items()},
                "verdicts": {m: v for m, (_, v) in warm.items()},
                "cold_s": round(cold_s, 1),
                "cold_source": source,
                "warm_over_cold": {m: round(s / cold_s, 4) for m, (s, _) in warm.items()},
            }
        )
    )


if __name__ == "__main__":
    main()

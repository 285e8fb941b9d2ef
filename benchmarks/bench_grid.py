"""Doing nothing costs nothing: a finished cell rerun against the command line's start-up.

Runs a slice of the ci grid (default: the homogeneous default cell, seeds 0 and 1) into a fresh
store cold, then times, each as the median of ``--repeats`` fresh processes in the same run:

- ``warm_s``: ``salcheck run`` of the same slice on the store that holds it (nothing to do: the
  plan's missing part is empty, no worker is started);
- ``help_s``: ``salcheck --help`` (the command line's start-up);
- ``import_s``: a process that imports salcheck's engine (torch, numba and the stages), the
  floor of any command that reads results.

Prints one JSON object as its last line: cold_s, warm_s, help_s, import_s, warm_over_help
(target <= 2) and warm_over_import.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], repeats: int) -> float:
    """Median wall time of ``repeats`` runs of ``cmd`` (each a fresh process)."""
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", nargs="+", default=["homogeneous"])
    p.add_argument("--variants", nargs="+", default=["default"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    salcheck = [sys.executable, "-m", "salcheck.cli"]
    with tempfile.TemporaryDirectory() as root:
        run = [
            *salcheck,
            "run",
            "--tier",
            "ci",
            "--datasets",
            *args.datasets,
            "--variants",
            *args.variants,
            "--seeds",
            *map(str, args.seeds),
            "--workers",
            str(args.workers),
            "--store",
            root,
        ]
        t = time.perf_counter()
        subprocess.run(run, check=True)
        cold = time.perf_counter() - t
        warm = timed(run, args.repeats)
    help_s = timed([*salcheck, "--help"], args.repeats)
    import_s = timed([sys.executable, "-c", "import salcheck.engine.plan"], args.repeats)
    print(
        json.dumps(
            {
                "cells": len(args.datasets) * len(args.variants),
                "seeds": args.seeds,
                "cold_s": round(cold, 1),
                "warm_s": round(warm, 2),
                "help_s": round(help_s, 2),
                "import_s": round(import_s, 2),
                "warm_over_help": round(warm / help_s, 2),
                "warm_over_import": round(warm / import_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

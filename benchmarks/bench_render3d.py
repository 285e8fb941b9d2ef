"""3-D phantom rendering speed: :func:`render3d` vs the per-voxel pure-Python reference, one run.

``python benchmarks/bench_render3d.py [volumes_at_32] [reference_slices]``. render3d is timed
(best of three) on volumes at N = 32 and N = 64; the reference (``reference_render3d``: every
voxel tests every ellipsoid in Python) on a few slices of one N = 32 volume only, and its rate
is scaled per voxel (every voxel costs it the same nine tests) to volumes per second at each N.
The reference's slices are also compared with render3d's (``mismatched_voxels``, expected 0).
Prints a short table, then as its last line one JSON object.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import numba
import numpy as np

from salcheck.cohort.phantoms3d import draw_params3d, reference_render3d, render3d


def _best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    count32 = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    ref_slices = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    render3d(draw_params3d(np.random.default_rng(0), np.array([0, 1, 2]), 32), 32)  # load the kernel

    ours: dict[int, float] = {}
    for n, count in ((32, count32), (64, max(count32 // 8, 3))):
        p = draw_params3d(np.random.default_rng(n), np.arange(count) % 3, n)
        out = render3d(p, n)  # first touch of the output pages, outside the timing
        ours[n] = count / _best_of(3, lambda p=p, n=n, out=out: render3d(p, n, out=out))

    p = draw_params3d(np.random.default_rng(1), np.array([1]), 32)
    slices = list(range(16 - ref_slices // 2, 16 - ref_slices // 2 + ref_slices))
    t = time.perf_counter()
    ref = reference_render3d(p, 32, slices=slices)
    ref_voxels_per_s = ref.size / (time.perf_counter() - t)
    mismatched = int((ref[0] != render3d(p, 32)[0, 0, slices]).sum())

    rows = []
    print(f"numba threads {numba.get_num_threads()}; reference: {ref.size} voxels of one 32^3 volume")
    print(f"{'N':>4} {'render3d vol/s':>15} {'reference vol/s':>16} {'ratio':>10}")
    for n, rate in ours.items():
        ref_rate = ref_voxels_per_s / n**3
        rows.append({"n": n, "volumes_per_s": rate, "reference_volumes_per_s": ref_rate})
        print(f"{n:>4} {rate:>15.1f} {ref_rate:>16.4f} {rate / ref_rate:>10.0f}")
    print(
        json.dumps(
            {
                "rows": [
                    {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                    | {"ratio": round(r["volumes_per_s"] / r["reference_volumes_per_s"])}
                    for r in rows
                ],
                "reference_voxels_per_s": round(ref_voxels_per_s),
                "mismatched_voxels": mismatched,
                "numba_threads": numba.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()

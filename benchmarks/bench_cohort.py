"""Cohort generation speed and memory: the `large` preset vs a per-image skimage renderer.

Prints as its last line one JSON object: images_per_s (the whole `large` preset, 20,000
images of 128 x 128, end to end), reference_images_per_s (skimage.draw, one image at a time,
as ClinicaDL draws, on a sample of the same parameters), speedup, peak_rss_mb (the process's
peak resident memory, which includes the 1,311 MB the images themselves take), and
render_only_images_per_s (repainting into memory already touched, i.e. without the cost of
the first page faults on 1.3 GB).
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

from salcheck.cohort import draw_params, make_cohort, preset, render
from salcheck.cohort.reference import reference_render


def main() -> None:
    warm = make_cohort(preset("test", n_per_class=8), 0)  # compile the kernel
    del warm
    sample = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    params = draw_params(np.random.default_rng(1), np.repeat([0, 1, 2], sample // 3), 128)
    t = time.perf_counter()
    reference_render(params, 128)
    ref_rate = (sample // 3 * 3) / (time.perf_counter() - t)

    spec = preset("large")
    t = time.perf_counter()
    cohort = make_cohort(spec, 0)
    elapsed = time.perf_counter() - t
    rate = len(cohort) / elapsed
    t = time.perf_counter()
    render(cohort.params, 128, out=cohort.images)
    render_rate = len(cohort) / (time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"large preset: {len(cohort)} images in {elapsed:.2f} s; reference on {sample} images")
    print(
        json.dumps(
            {
                "images_per_s": round(rate),
                "reference_images_per_s": round(ref_rate),
                "speedup": round(rate / ref_rate, 1),
                "peak_rss_mb": round(peak),
                "render_only_images_per_s": round(render_rate),
            }
        )
    )


if __name__ == "__main__":
    main()

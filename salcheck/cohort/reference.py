"""A per-image reference renderer built on ``skimage.draw.ellipse``, the way ClinicaDL draws.

Used by the tests (pixel agreement) and the cohort benchmark (speed). Needs scikit-image.
"""

from __future__ import annotations

import numpy as np

from salcheck.cohort.phantoms import ellipse_table


def reference_render(params: dict[str, np.ndarray], image_size: int) -> np.ndarray:
    """Render every image one ellipse at a time with skimage; float32 [n, 1, N, N]."""
    from skimage.draw import ellipse  # optional: scikit-image (the test extra)

    table = ellipse_table(params, image_size)
    out = np.zeros((table.shape[0], 1, image_size, image_size), dtype=np.float32)
    for k in range(table.shape[0]):
        img = np.zeros((image_size, image_size))
        for r, c, ra, rb, rot, v in table[k]:
            rr, cc = ellipse(r, c, ra, rb, (image_size, image_size), rotation=rot)
            img[rr, cc] = v
        out[k, 0] = img
    return out

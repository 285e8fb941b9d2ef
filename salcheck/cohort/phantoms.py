"""Shepp-Logan-style brain phantoms: draw parameters, then render them with a pure function.

Sampling and rendering are split (as TorchIO splits ``make_params`` from ``apply``):
:func:`draw_params` records every random number an image uses, and :func:`render` turns those
parameters into pixels deterministically, so each image and its exact ROI masks can be replayed.

Geometry (methods.md section 1, after ClinicaDL ``generate shepplogan``), per image, painted in
this order (later shapes overwrite earlier ones):

1. skull, centre (c, c), semi-axes (a, b), value 1; background 0;
2. brain, o ~ U(1, N/32), centre (c + o/2, c), semi-axes (a - o, b - o), value 0.2;
3. central ellipse, centre (c + u1, c + u2), semi-axes (b/6 s1, b/6 s2), value ``color``;
4. ROI 1 (atypical region), centre (0.6c + u1, c + u2), semi-axes (b/3 s1, b/4 s2);
5. ROI 2 (typical region), three ellipses at (1.5c + u1, {0.9, 1, 1.1}c + u2), semi-axes
   (b/10 s1, b/10 s2), each with its own u1, u2, s1, s2 and rotation (ClinicaDL draws five
   numbers per ellipse; only the base positions are shared);
6. two ventricles, value 0, a' = a U(0.8, 1.2), semi-axes (a'/3, a'/6), centres (c, 0.75c) and
   (c, 1.25c), rotations +pi/8 + U(-pi/16, pi/16) and -pi/8 + U(-pi/16, pi/16).

``color`` ~ U(0.4, 0.6); u1, u2 ~ U(1, N/32); rotations ~ U(-pi, pi); scale factors s ~ U(1, 1.2)
("large") or U(0.8, 0.9) ("small", atrophied). Subtype 1 (typical) shrinks ROI 2, subtype 2
(atypical) shrinks ROI 1. Pixels follow ``skimage.draw.ellipse``: pixel (i, j) is inside when
((di cos t + dj sin t)/r_rad)^2 + ((di sin t - dj cos t)/c_rad)^2 < 1, t = rotation mod pi.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from scipy.ndimage import gaussian_filter

from salcheck.cohort.geometry import LARGE, SMALL, Geometry, check_image_size

#: The parameters recorded for each image, in a fixed order (all float64 arrays of length n).
PARAM_NAMES: tuple[str, ...] = (
    "brain_offset", "color",
    "central_u1", "central_u2", "central_s1", "central_s2", "central_rotation",
    "roi1_u1", "roi1_u2", "roi1_s1", "roi1_s2", "roi1_rotation",
    *(f"{e}_{k}" for e in ("roi2_left", "roi2_middle", "roi2_right")
      for k in ("u1", "u2", "s1", "s2", "rotation")),
    "ventricle1_scale", "ventricle1_tilt", "ventricle2_scale", "ventricle2_tilt",
    "smoothing_sigma",
)  # fmt: skip

#: Rows of the ellipse table, in painting order.
ELLIPSES: tuple[str, ...] = (
    "skull", "brain", "central", "roi1", "roi2_left", "roi2_middle", "roi2_right",
    "ventricle_left", "ventricle_right",
)  # fmt: skip
TYPICAL_ELLIPSES = (4, 5, 6)
ROI2_ELLIPSES = ("roi2_left", "roi2_middle", "roi2_right")  # each draws its own parameters
ATYPICAL_ELLIPSES = (3,)


def draw_params(
    rng: np.random.Generator, subtypes: np.ndarray, image_size: int, *, smoothing: bool = False
) -> dict[str, np.ndarray]:
    """Draw every random parameter of ``len(subtypes)`` phantoms.

    ``subtypes[i]`` is 0 (no atrophy), 1 (typical: ROI 2 small) or 2 (atypical: ROI 1 small).
    Scale factors are drawn as ``low + U(0, 1) (high - low)`` so that an atrophied image and a
    control drawn from the same stream differ only in the range of their ROI factors.
    """
    g = Geometry(check_image_size(image_size))
    subtypes = np.asarray(subtypes)
    n = subtypes.shape[0]

    def uniform(lo: float, hi: float) -> np.ndarray:
        return np.asarray(rng.uniform(lo, hi, size=n), float)

    def scales(small: np.ndarray) -> np.ndarray:
        lo = np.where(small, SMALL[0], LARGE[0])
        hi = np.where(small, SMALL[1], LARGE[1])
        return lo + rng.random(n) * (hi - lo)

    p: dict[str, np.ndarray] = {}
    p["brain_offset"] = uniform(1, g.max_offset)
    p["color"] = uniform(0.4, 0.6)
    for roi, small in (
        ("central", np.zeros(n, bool)),
        ("roi1", subtypes == 2),
        *((r, subtypes == 1) for r in ROI2_ELLIPSES),
    ):
        p[f"{roi}_u1"] = uniform(1, g.max_offset)
        p[f"{roi}_u2"] = uniform(1, g.max_offset)
        p[f"{roi}_s1"] = scales(small)
        p[f"{roi}_s2"] = scales(small)
        p[f"{roi}_rotation"] = uniform(-np.pi, np.pi)
    for v in ("ventricle1", "ventricle2"):
        p[f"{v}_scale"] = uniform(0.8, 1.2)
        p[f"{v}_tilt"] = uniform(-np.pi / 16, np.pi / 16)
    p["smoothing_sigma"] = uniform(0, 1) * g.n / 100.0 if smoothing else np.zeros(n)
    return {k: p[k] for k in PARAM_NAMES}


def ellipse_table(params: dict[str, np.ndarray], image_size: int) -> np.ndarray:
    """The [n, 9, 6] table (row, col, r_radius, c_radius, rotation, value) of every ellipse."""
    g = Geometry(check_image_size(image_size))
    c, a, b = g.c, g.a, g.b
    p = params
    n = p["color"].shape[0]
    t = np.empty((n, len(ELLIPSES), 6))
    ones = np.ones(n)
    t[:, 0] = np.stack([c * ones, c * ones, a * ones, b * ones, 0 * ones, ones], 1)
    o = p["brain_offset"]
    t[:, 1] = np.stack([c + o / 2, c * ones, a - o, b - o, 0 * ones, 0.2 * ones], 1)
    col = p["color"]
    t[:, 2] = np.stack(
        [
            c + p["central_u1"],
            c + p["central_u2"],
            b / 6 * p["central_s1"],
            b / 6 * p["central_s2"],
            p["central_rotation"],
            col,
        ],
        1,
    )
    t[:, 3] = np.stack(
        [
            0.6 * c + p["roi1_u1"],
            c + p["roi1_u2"],
            b / 3 * p["roi1_s1"],
            b / 4 * p["roi1_s2"],
            p["roi1_rotation"],
            col,
        ],
        1,
    )
    for k, f, e in zip(TYPICAL_ELLIPSES, (0.9, 1.0, 1.1), ROI2_ELLIPSES, strict=True):
        t[:, k] = np.stack(
            [
                1.5 * c + p[f"{e}_u1"],
                f * c + p[f"{e}_u2"],
                b / 10 * p[f"{e}_s1"],
                b / 10 * p[f"{e}_s2"],
                p[f"{e}_rotation"],
                col,
            ],
            1,
        )
    for k, (f, sign, v) in zip((7, 8), ((0.75, 1, "ventricle1"), (1.25, -1, "ventricle2")), strict=True):
        ar = a * p[f"{v}_scale"]
        t[:, k] = np.stack(
            [c * ones, f * c * ones, ar / 3, ar / 6, sign * np.pi / 8 + p[f"{v}_tilt"], 0 * ones], 1
        )
    return t


def render(
    params: dict[str, np.ndarray],
    image_size: int,
    *,
    out: np.ndarray | None = None,
    chunk: int = 4096,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Render phantoms from their parameters into float32 [n, 1, N, N] (values in [0, 1]).

    Pure: the same parameters always give the same bytes. ``progress(k)`` is called after
    each chunk of k images.
    """
    n_px = check_image_size(image_size)
    table = ellipse_table(params, n_px)
    n = table.shape[0]
    if out is None:
        out = np.empty((n, 1, n_px, n_px), dtype=np.float32)  # the kernel clears each image
    sigmas = params["smoothing_sigma"]
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        view = out[start:stop, 0]
        _paint(table[start:stop], view)
        for i in np.flatnonzero(sigmas[start:stop] > 0):
            view[i] = gaussian_filter(view[i].astype(np.float64), sigmas[start + i])
        if progress is not None:
            progress(stop - start)
    return out


def render_masks(
    params: dict[str, np.ndarray], image_size: int, ellipses: tuple[int, ...]
) -> np.ndarray:
    """Boolean [n, N, N] footprint of the given ellipses (by index into :data:`ELLIPSES`).

    The footprint is the ellipse as drawn with its own size, before later shapes paint over it.
    """
    n_px = check_image_size(image_size)
    table = ellipse_table(params, n_px)[:, list(ellipses)].copy()
    table[:, :, 5] = 1
    out = np.empty((table.shape[0], n_px, n_px), dtype=np.uint8)
    _paint(table, out)
    return out.view(bool)


@numba.njit(cache=True, inline="always")
def _inside(i: float, j: float, r: float, c: float, ra: float, rb: float, s: float, co: float) -> bool:
    dr, dc = i - r, j - c
    return ((dr * co + dc * s) / ra) ** 2 + ((dr * s - dc * co) / rb) ** 2 < 1.0


@numba.njit(parallel=True, cache=True)
def _paint(table: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Clear each image, then paint its ellipses in order; rows are solved as quadratics.

    For row i the inside condition is A dc^2 + B dc + C < 0 (dc = j - c); its roots bound the
    run, and the exact pixel test then fixes the two end pixels, as skimage would decide them.
    """
    n, size = out.shape[0], out.shape[1]
    for k in numba.prange(n):
        out[k] = 0  # first touch inside the parallel loop: page faults spread over cores
        for e in range(table.shape[1]):
            r, c, ra, rb, rot, val = table[k, e]
            if ra <= 0.0 or rb <= 0.0:
                continue
            rot = rot % math.pi
            s, co = math.sin(rot), math.cos(rot)
            r_rot = abs(ra * co) + rb * s
            c_rot = ra * s + abs(rb * co)
            r0 = max(int(math.ceil(r - r_rot)), 0)
            r1 = min(int(math.floor(r + r_rot)), size - 1)
            c0 = max(int(math.ceil(c - c_rot)), 0)
            c1 = min(int(math.floor(c + c_rot)), size - 1)
            qa = (s / ra) ** 2 + (co / rb) ** 2
            for i in range(r0, r1 + 1):
                dr = i - r
                qb = 2.0 * dr * s * co * (1.0 / ra**2 - 1.0 / rb**2)
                qc = dr * dr * ((co / ra) ** 2 + (s / rb) ** 2) - 1.0
                disc = qb * qb - 4.0 * qa * qc
                if disc < 0.0:
                    continue
                sq = math.sqrt(disc)
                j0 = max(int(math.floor(c + (-qb - sq) / (2.0 * qa))), c0)
                j1 = min(int(math.ceil(c + (-qb + sq) / (2.0 * qa))), c1)
                while j0 <= j1 and not _inside(i, j0, r, c, ra, rb, s, co):
                    j0 += 1
                while j1 >= j0 and not _inside(i, j1, r, c, ra, rb, s, co):
                    j1 -= 1
                for j in range(j0, j1 + 1):
                    out[k, i, j] = val

"""Phantom geometry as a function of the image size N (methods.md sections 1 and 6).

Coordinates are (row, column), row 0 at the top. With c = (N+1)/2, a = c - 2, b = 2c/3 - 2,
every length scales with N. The analytic region boxes hold every possible placement of an ROI
(centre offset up to N/32, semi-axis up to factor 1.2, any rotation), rounded to the nearest
pixel; at N = 128: R_atyp = rows 23-59, cols 49-85; R_typ = rows 93-106, cols 54-80.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from salcheck.errors import InvalidArgument

#: Scale factor ranges: "large" (normal) and "small" (atrophied) ROI draws.
LARGE = (1.0, 1.2)
SMALL = (0.8, 0.9)


def check_image_size(image_size: int) -> int:
    """Return ``image_size`` if it is a multiple of 32 and at least 32, else raise."""
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, (int, np.integer))
        or image_size < 32
        or image_size % 32
    ):
        msg = f"image_size must be a multiple of 32 and >= 32, got image_size={image_size!r}"
        raise InvalidArgument(msg)
    return int(image_size)


@dataclass(frozen=True)
class Geometry:
    """The fixed lengths of a phantom of size N: centre c, skull semi-axes a and b."""

    n: int

    @property
    def c(self) -> float:
        return (self.n + 1.0) / 2.0

    @property
    def a(self) -> float:
        return self.c - 2.0

    @property
    def b(self) -> float:
        return self.c * 2.0 / 3.0 - 2.0

    @property
    def max_offset(self) -> float:
        """Largest centre offset any ROI can draw: N/32."""
        return self.n / 32.0


@dataclass(frozen=True)
class Box:
    """An inclusive pixel box ``rows[0]..rows[1]`` x ``cols[0]..cols[1]``."""

    rows: tuple[int, int]
    cols: tuple[int, int]

    def mask(self, n: int) -> np.ndarray:
        """Boolean [n, n] mask of the box."""
        m = np.zeros((n, n), dtype=bool)
        m[self.rows[0] : self.rows[1] + 1, self.cols[0] : self.cols[1] + 1] = True
        return m


def _box(
    row_centres: tuple[float, float], col_centres: tuple[float, float], reach: float, n: int
) -> Box:
    lo_r, hi_r = row_centres[0] - reach, row_centres[1] + reach
    lo_c, hi_c = col_centres[0] - reach, col_centres[1] + reach
    clip: Callable[[float], int] = lambda v: int(min(max(round(v), 0), n - 1))
    return Box((clip(lo_r), clip(hi_r)), (clip(lo_c), clip(hi_c)))


@lru_cache(maxsize=32)
def atypical_box(image_size: int) -> Box:
    """R_atyp: every placement of ROI 1 (centre (0.6c+u1, c+u2), semi-axes up to 1.2 b/3)."""
    g = Geometry(check_image_size(image_size))
    reach = 1.2 * g.b / 3.0
    return _box((0.6 * g.c + 1, 0.6 * g.c + g.max_offset), (g.c + 1, g.c + g.max_offset), reach, g.n)


@lru_cache(maxsize=32)
def typical_box(image_size: int) -> Box:
    """R_typ: every placement of the three ROI-2 ellipses (semi-axes up to 1.2 b/10)."""
    g = Geometry(check_image_size(image_size))
    reach = 1.2 * g.b / 10.0
    return _box(
        (1.5 * g.c + 1, 1.5 * g.c + g.max_offset), (0.9 * g.c + 1, 1.1 * g.c + g.max_offset), reach, g.n
    )


def inside_ellipse(
    rows: np.ndarray,
    cols: np.ndarray,
    r: float,
    c: float,
    r_radius: float,
    c_radius: float,
    rotation: float = 0.0,
) -> np.ndarray:
    """``skimage.draw.ellipse``'s pixel test.

    Inside when ((dr cos t + dc sin t)/r_rad)^2 + ((dr sin t - dc cos t)/c_rad)^2 < 1.
    """
    rotation = rotation % np.pi
    sin_a, cos_a = np.sin(rotation), np.cos(rotation)
    dr, dc = rows - r, cols - c
    return ((dr * cos_a + dc * sin_a) / r_radius) ** 2 + ((dr * sin_a - dc * cos_a) / c_radius) ** 2 < 1


@lru_cache(maxsize=32)
def _brain(image_size: int, rim: bool) -> np.ndarray:
    g = Geometry(check_image_size(image_size))
    rows, cols = np.ogrid[0 : g.n, 0 : g.n]
    rows_f, cols_f = rows.astype(float), cols.astype(float)
    if rim:  # the skull ellipse: the bright rim and everything inside it
        m = inside_ellipse(rows_f, cols_f, g.c, g.c, g.a, g.b)
    else:  # the smallest brain any image can have (o = N/32)
        o = g.max_offset
        m = inside_ellipse(rows_f, cols_f, g.c + o / 2, g.c, g.a - o, g.b - o)
    m.flags.writeable = False
    return m


def brain_mask(image_size: int, *, rim: bool = False) -> np.ndarray:
    """The pixels criterion c compares against, before the ROI regions are taken out.

    ``rim=False``: inside the smallest brain ellipse any image can have (o = N/32: centre
    (c + N/64, c), semi-axes (a - N/32, b - N/32)), so the skull rim, where gradients gather,
    is left out. ``rim=True``: inside the skull ellipse (centre (c, c), semi-axes (a, b)), rim
    included.
    """
    return _brain(check_image_size(image_size), rim).copy()


def rest_mask(image_size: int, *, rim: bool = False) -> np.ndarray:
    """Rest: :func:`brain_mask` outside both analytic boxes."""
    n = check_image_size(image_size)
    return brain_mask(n, rim=rim) & ~typical_box(n).mask(n) & ~atypical_box(n).mask(n)


def region_masks(image_size: int) -> dict[str, np.ndarray]:
    """The three analytic regions as boolean [N, N] masks: ``typical``, ``atypical``, ``rest``."""
    return {
        "typical": typical_box(image_size).mask(image_size),
        "atypical": atypical_box(image_size).mask(image_size),
        "rest": rest_mask(image_size),
    }

"""The reference study's numbers and its findings as data, shared by properties and reports.

Each comparative finding is a :class:`Comparison` of one criterion in one cell against another,
paired by training seed and decided by :func:`salcheck.stats.paired_greater`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .stats import Verdict, paired_greater

CRITERIA_KEYS = ("a", "b", "c", "b_dagger", "c_dagger")

#: The poster's four tables: (dataset, variant) -> a, b, c, b†, c†.
POSTER: dict[tuple[str, str], tuple[float, float, float, float, float]] = {
    ("homogeneous", "default"): (0.95, 12.3, 5.3, 1.6, 4.2),
    ("heterogeneous", "default"): (1.00, 8.6, 5.1, 0.9, 4.6),
    ("large", "default"): (0.99, 102.5, 12.3, 12.9, 13.7),
    ("homogeneous", "CropPad"): (1.00, 20.60, 4.70, 2.00, 5.09),
    ("homogeneous", "Erasing"): (1.00, 19.55, 5.57, 1.79, 3.96),
    ("homogeneous", "Noise"): (1.00, 18.37, 9.08, 2.32, 5.48),
    ("homogeneous", "Smoothing"): (1.00, 10.36, 2.94, 1.13, 7.88),
    ("homogeneous", "L1"): (1.00, 11.00, 5.81, 3.09, 5.71),
    ("homogeneous", "L1Norm"): (1.00, 16.28, 10.03, 0.02, 13.16),
    ("homogeneous", "SmoothL1"): (0.80, 7.27, 3.00, 2.01, 6.13),
    ("homogeneous", "MSENorm"): (0.95, 12.25, 5.32, 1.59, 5.62),
    ("heterogeneous", "CropPad"): (1.00, 20.60, 5.75, 2.56, 7.29),
    ("heterogeneous", "Erasing"): (1.00, 13.72, 6.28, 1.99, 5.22),
    ("heterogeneous", "Noise"): (1.00, 17.28, 8.11, 2.34, 5.39),
    ("heterogeneous", "Smoothing"): (1.00, 12.11, 5.12, 1.87, 3.93),
    ("heterogeneous", "L1"): (1.00, 11.38, 4.44, 2.58, 5.89),
    ("heterogeneous", "L1Norm"): (1.00, 20.02, 9.82, 2.04, 11.93),
    ("heterogeneous", "SmoothL1"): (1.00, 8.23, 4.30, 1.51, 5.15),
    ("heterogeneous", "MSENorm"): (1.00, 10.23, 6.03, 2.20, 6.25),
    ("homogeneous", "Noise+L1"): (1.00, 6.91, 2.94, 4.05, 7.88),
    ("heterogeneous", "Noise+L1"): (1.00, 6.22, 2.95, 1.88, 4.23),
}

#: The poster's tables as (title, cells) in its order.
POSTER_TABLES: list[tuple[str, list[tuple[str, str]]]] = [
    ("Default training (no augmentation, CE)",
     [("homogeneous", "default"), ("heterogeneous", "default"), ("large", "default")]),
    ("Benchmark on homogeneous", [("homogeneous", v) for v in (
        "CropPad", "Erasing", "Noise", "Smoothing", "L1", "L1Norm", "SmoothL1", "MSENorm")]),
    ("Benchmark on heterogeneous", [("heterogeneous", v) for v in (
        "CropPad", "Erasing", "Noise", "Smoothing", "L1", "L1Norm", "SmoothL1", "MSENorm")]),
    ("Coupling Noise + L1", [("homogeneous", "Noise+L1"), ("heterogeneous", "Noise+L1")]),
]

Cell = tuple[str, str, str]  # dataset, variant, criterion


@dataclass(frozen=True)
class Comparison:
    """Finding ``number``: criterion x (in its cell) exceeds ``margin`` times y, per seed."""

    key: str
    number: int
    claim: str
    x: Cell
    y: Cell
    margin: float = 1.0

    def decide(self, values: Callable[[str, str, str], list[float]]) -> Verdict:
        """Apply the decision rule to the values ``values(dataset, variant, criterion)``."""
        return paired_greater(values(*self.x), values(*self.y), claim=self.claim,
                              margin=self.margin)


def _cmp(key, number, claim, x, y, margin=1.0) -> Comparison:
    return Comparison(key, number, claim, x, y, margin)


H, HET, L = "homogeneous", "heterogeneous", "large"
COMPARISONS: dict[str, Comparison] = {c.key: c for c in [
    _cmp("F1-homogeneous", 1, "b > b† on homogeneous", (H, "default", "b"), (H, "default", "b_dagger")),
    _cmp("F1-heterogeneous", 1, "b > b† on heterogeneous", (HET, "default", "b"),
         (HET, "default", "b_dagger")),
    _cmp("F2-b_dagger", 2, "b† on large > b† on homogeneous", (L, "default", "b_dagger"),
         (H, "default", "b_dagger")),
    _cmp("F2-b", 2, "b on large > b on homogeneous", (L, "default", "b"), (H, "default", "b")),
    *[_cmp(f"F3-{v}-{k}", 3, f"{v} raises {k.replace('_dagger', '†')} on homogeneous", (H, v, k),
           (H, "default", k)) for v in ("Noise", "CropPad", "Erasing") for k in ("b", "b_dagger")],
    _cmp("F4-c", 4, "L1Norm raises c on homogeneous", (H, "L1Norm", "c"), (H, "default", "c")),
    _cmp("F4-c_dagger", 4, "L1Norm raises c† on homogeneous", (H, "L1Norm", "c_dagger"),
         (H, "default", "c_dagger")),
    _cmp("F4-b_dagger", 4, "L1Norm lowers b† on homogeneous (poster 0.02)",
         (H, "default", "b_dagger"), (H, "L1Norm", "b_dagger")),
    _cmp("F5-Noise", 5, "Noise+L1 gives lower b than Noise", (H, "Noise", "b"), (H, "Noise+L1", "b")),
    _cmp("F5-L1", 5, "Noise+L1 gives lower b than L1", (H, "L1", "b"), (H, "Noise+L1", "b")),
    _cmp("F7", 7, "b > 2 b† on homogeneous while a >= 0.8", (H, "default", "b"),
         (H, "default", "b_dagger"), margin=2.0),
]}

"""Named scales of the study: ``paper`` (the poster's) and ``ci`` (small enough for CI).

A tier fixes the image size, the cohort sizes, the training length and the default seeds; a
grid of (dataset x variant x seed) at a tier expands into :class:`ExperimentSpec` cells.
The ci tier's numbers were chosen by measurement (README, "The ci tier"): at 64 x 64 with 10
epochs the poster's typical-over-atypical gap, the gain from Noise and the features' subtyping
already show, at about 25 s per homogeneous model on a 2-core CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import check_choice
from .experiment import BASE_VARIANTS, DATASETS, ExperimentSpec, parse_variant


@dataclass(frozen=True)
class Tier:
    name: str
    image_size: int
    n_per_class: dict[str, int]  # per training dataset
    test_n_per_class: int
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]

    def spec(self, dataset: str, variant: str = "default", seed: int = 0, *,
             method: str = "vanilla", **overrides) -> ExperimentSpec:
        """The cell (dataset, variant, seed) at this tier's scale."""
        fields = {"n_per_class": self.n_per_class[dataset], "image_size": self.image_size,
                  "test_n_per_class": self.test_n_per_class, "epochs": self.epochs,
                  "batch_size": self.batch_size, "method": method, **overrides}
        return ExperimentSpec(dataset=dataset, variant=variant, seed=seed, **fields)

    def grid(self, datasets=None, variants=None, seeds=None, *,
             method: str = "vanilla") -> list[ExperimentSpec]:
        """Every cell of datasets x variants x seeds (defaults: the poster's 21 cells)."""
        datasets = list(datasets or DATASETS)
        for d in datasets:
            check_choice("dataset", d, DATASETS)
        seeds = list(self.seeds if seeds is None else seeds)
        if variants is None:
            cells = [(d, v) for d in datasets for v in POSTER_CELLS.get(d, ("default",))]
        else:
            for v in variants:
                parse_variant(v)
            cells = [(d, v) for d in datasets for v in variants]
        return [self.spec(d, v, s, method=method) for d, v in cells for s in seeds]


#: The poster's tables: which variants were trained on which dataset (21 cells).
POSTER_CELLS: dict[str, tuple[str, ...]] = {
    "homogeneous": (*BASE_VARIANTS, "Noise+L1"),
    "heterogeneous": (*BASE_VARIANTS, "Noise+L1"),
    "large": ("default",),
}

TIERS: dict[str, Tier] = {
    "paper": Tier("paper", 128, {"homogeneous": 500, "heterogeneous": 500, "large": 10_000},
                  1000, 20, 8, (0, 1, 2, 3, 4)),
    "ci": Tier("ci", 64, {"homogeneous": 500, "heterogeneous": 500, "large": 2_000},
               250, 10, 8, (0, 1, 2)),
}


def get_tier(name: str) -> Tier:
    check_choice("tier", name, tuple(TIERS))
    return TIERS[name]

"""Named scales of the study: ``paper`` (the poster's) and ``ci`` (small enough for CI).

A tier fixes the image size, the cohort sizes, the training length, the test set and the
default seeds; its cells (dataset x variant) expand into :class:`ModelSpec` models, one per
seed. Besides the poster's 21 cells a tier has one control the poster lacks:
``homogeneous-steps`` is the homogeneous set trained for as many optimiser steps as the large
set (epochs x n_large / n_homogeneous), so F2 can be split into "more data" and "longer
training". The ci tier's numbers were chosen by measurement (docs/tiers.md).

The network is a dimension of a tier like the variant is of a cell: :meth:`Tier.with_network`
gives the same tier on another network (every model it names is of that network, and its
reports and verdict records are named by :attr:`Tier.tag`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from salcheck.criteria.protocol import EvalProtocol
from salcheck.errors import InvalidArgument, check_choice
from salcheck.models.custom import check_network_name
from salcheck.store.keys import BASE_VARIANTS, DATASETS, ModelSpec, TestSpec, parse_variant

#: Training datasets a cell may name: the presets and the step-matched control.
STEPS_CONTROL = "homogeneous-steps"
CELL_DATASETS = (*DATASETS, STEPS_CONTROL)

#: The study's training length (ClinicaDL's default epochs).
STUDY_EPOCHS = 20

#: The poster's tables: which variants were trained on which dataset (21 cells), and the control.
POSTER_CELLS: dict[str, tuple[str, ...]] = {
    "homogeneous": (*BASE_VARIANTS, "Noise+L1"),
    "heterogeneous": (*BASE_VARIANTS, "Noise+L1"),
    "large": ("default",),
    STEPS_CONTROL: ("default",),
}


@dataclass(frozen=True)
class Tier:
    name: str
    image_size: int
    n_per_class: dict[str, int]  # per training dataset
    test_n_per_class: int
    epochs: int  # the cap (the study's 20 without early stopping)
    batch_size: int
    seeds: tuple[int, ...]
    test_seed: int = 12345
    patience: int | None = None  # early stopping on validation loss (None: every epoch)
    tolerance: float = 0.0
    selection: str = "loss"
    evaluation: EvalProtocol = field(default_factory=EvalProtocol)  # how criteria read maps
    network: str = "convnet"  # the network of every model (salcheck.models.custom)
    dims: int = 2  # 2: images; 3: volumes (every cohort, model and map of the tier)
    #: The (dataset, variant) cells the tier trains; None: the poster's 21 cells and the control.
    grid_cells: tuple[tuple[str, str], ...] | None = None

    def __hash__(self) -> int:
        """Hash of the fields but the dict (frozen dataclasses hash every field, and a dict has
        no hash): a tier names check suites, which plans hold in sets."""
        sizes = tuple(sorted(self.n_per_class.items()))
        return hash(
            (
                self.name,
                self.image_size,
                sizes,
                self.test_n_per_class,
                self.seeds,
                self.network,
                self.dims,
                self.grid_cells,
            )
        )

    def with_network(self, network: str | None) -> Tier:
        """This tier on ``network`` (None: as it is).

        Examples:
            >>> get_tier("ci").with_network("monai:DenseNet121").tag
            'ci-monai-densenet121'
        """
        return self if network is None else replace(self, network=check_network_name(network))

    @property
    def tag(self) -> str:
        """The tier's name, with the network's when it is not the study's ConvNet (reports and
        verdict records are named by it)."""
        if self.network == "convnet":
            return self.name
        return f"{self.name}-" + re.sub(r"[^a-z0-9]+", "-", self.network.lower()).strip("-")

    def options(self) -> str:
        """The command-line options that name this tier: ``--tier ci [--network NAME]``."""
        net = "" if self.network == "convnet" else f" --network {self.network}"
        return f"--tier {self.name}{net}"

    def training(self) -> dict[str, Any]:
        """The training protocol's fields of every model of the tier (but the control's)."""
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "patience": self.patience,
            "tolerance": self.tolerance,
            "selection": self.selection,
        }

    def steps_ratio(self) -> int:
        """Optimiser steps of the large set per step of the homogeneous set, epoch for epoch."""
        return self.n_per_class["large"] // self.n_per_class["homogeneous"]

    def spec(self, dataset: str, variant: str = "default", seed: int = 0, **overrides: Any) -> ModelSpec:
        """The model of cell (dataset, variant) for one seed at this tier's scale."""
        check_choice("dataset", dataset, CELL_DATASETS)
        fields: dict[str, Any] = self.training()
        if dataset == STEPS_CONTROL:
            # Every epoch of the study's training length, times the steps ratio: at least the
            # optimiser steps of a large-set model that stops within the study's epochs.
            dataset = "homogeneous"
            fields.update(epochs=STUDY_EPOCHS * self.steps_ratio(), patience=None)
        fields = {
            **fields,
            "n_per_class": self.n_per_class[dataset],
            "image_size": self.image_size,
            "model": self.network,
            "dims": self.dims,
            **overrides,
        }
        return ModelSpec(dataset=dataset, variant=variant, seed=seed, **fields)

    def test(self) -> TestSpec:
        """The test set every model of the tier is scored on."""
        return TestSpec(self.image_size, self.test_n_per_class, self.test_seed, self.dims)

    def cells(
        self, datasets: Iterable[str] | None = None, variants: Iterable[str] | None = None
    ) -> list[tuple[str, str]]:
        """(dataset, variant) pairs: by default the tier's grid (the poster's 21 cells and the
        control, unless the tier names its own ``grid_cells``)."""
        grid = list(self.grid_cells or ((d, v) for d, vs in POSTER_CELLS.items() for v in vs))
        datasets = list(datasets or dict.fromkeys(d for d, _ in grid))
        for d in datasets:
            check_choice("dataset", d, CELL_DATASETS)
        if variants is None:
            return [(d, v) for d in datasets for dd, v in grid if dd == d]
        variants = list(variants)
        for v in variants:
            parse_variant(v)
        return [(d, v) for d in datasets for v in variants]

    def grid(
        self,
        datasets: Iterable[str] | None = None,
        variants: Iterable[str] | None = None,
        seeds: Iterable[int] | None = None,
    ) -> list[ModelSpec]:
        """Every model of cells x seeds (defaults: the tier's cells and seeds)."""
        seeds = check_seeds(self.seeds if seeds is None else seeds)
        return [self.spec(d, v, s) for d, v in self.cells(datasets, variants) for s in seeds]


def check_seeds(seeds: Iterable[int], *, at_least: int = 1) -> tuple[int, ...]:
    """Seeds as a tuple of distinct integers >= 0, at least ``at_least`` of them (the paired
    tests of the findings need two)."""
    out = tuple(seeds)
    bad = [s for s in out if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad:
        msg = f"seeds must be integers >= 0, got {bad}"
        raise InvalidArgument(msg)
    if len(set(out)) != len(out) or len(out) < at_least:
        need = (
            "two distinct seeds (a paired test needs two)"
            if at_least == 2
            else f"{at_least} distinct seed(s)"
        )
        msg = f"give at least {need}, got {list(out)}"
        raise InvalidArgument(msg)
    return out


#: The adopted training protocol (docs/definitions.md): ClinicaDL 0.2.x's batch
#: of 2 (the protocol study), early stopping on the validation loss with ClinicaDL's patience
#: of the phantom study's commit (10; no shorter patience keeps the same models: the report's
#: Convergence section replays them), at most 100 epochs, the best-validation-loss model kept.
PROTOCOL = {"epochs": 100, "batch_size": 2, "patience": 10, "tolerance": 0.0, "selection": "loss"}

TIERS: dict[str, Tier] = {
    "paper": Tier(
        "paper",
        128,
        {"homogeneous": 500, "heterogeneous": 500, "large": 10_000},
        1000,
        seeds=(0, 1, 2, 3, 4),
        **PROTOCOL,  # type: ignore[arg-type]
    ),
    # Volumes, sized by measurement for two workers of this CPU (docs/cohorts3d.md): ConvNet3D
    # at 32^3 costs about 0.02 CPU-s per volume and training step (64^3: 0.17), so three
    # default cells x 5 seeds at 150 / 150 / 600 volumes per class train cold in about 45 min.
    "ci3d": Tier(
        "ci3d",
        32,
        {"homogeneous": 150, "heterogeneous": 150, "large": 600},
        200,
        seeds=(0, 1, 2, 3, 4),
        dims=3,
        grid_cells=(("homogeneous", "default"), ("heterogeneous", "default"), ("large", "default")),
        **PROTOCOL,  # type: ignore[arg-type]
    ),
    "ci": Tier(
        "ci",
        64,
        {"homogeneous": 500, "heterogeneous": 500, "large": 2_000},
        500,
        # ten seeds: the exact test's least p is 1/1024, so Benjamini-Hochberg can keep signs
        # (at five, 1/32 never survives it over the 97 signs); the report's power simulation
        seeds=tuple(range(10)),
        **PROTOCOL,  # type: ignore[arg-type]
    ),
}


def get_tier(name: str, network: str | None = None) -> Tier:
    """The tier called ``name`` (``ci`` or ``paper``), on ``network`` (default: the study's
    ConvNet); another name raises InvalidArgument.

    Examples:
        >>> ci = get_tier("ci")
        >>> ci.image_size, ci.seeds, len(ci.cells()), len(ci.grid())   # 21 cells + the F2 control
        (64, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), 22, 220)
        >>> ci.spec("homogeneous", "Noise", seed=3).label()
        'homogeneous/Noise/seed3 (500/class, <=100 ep, patience 10)'
    """
    check_choice("tier", name, tuple(TIERS))
    return TIERS[name].with_network(network)

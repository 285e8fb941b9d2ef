"""The points of the dose-response study: its two routes, their models and plan, and their cost.

The dose-response study (:mod:`salcheck.studies.dose`) puts the criteria against n_atyp, the
number of atypical images in the training cohort, along two *routes* (:data:`ROUTES`):

- ``size``: the set size at the homogeneous mix (errors, typical, atypical) = (0.05, 0.85,
  0.10), :data:`SIZES` images per class (half-octave steps where the curves cross; 8,000 only
  by :meth:`DoseGrid.extended`: one point that costs as much as the rest of the run);
- ``share``: the atypical share s at the tier's homogeneous size (500 per class), errors 0.05,
  typical 0.95 - s, s in :data:`SHARES`.

Every point is a grid cell like any other: the same store, keys and seeds as the tier's cells,
and a point that *is* a tier cell is that cell's exact spec (500 per class at the homogeneous
mix is ``tier.spec("homogeneous")``, the tier's large size is ``tier.spec("large")``), so no
model is trained twice. n_atyp counts the atypical images of the cohort as drawn, *before*
the validation split (:func:`n_atyp`): the dataset a user collects, the poster's numbers (50
atypical images at 500 per class, 1,000 at 10,000); the network's weights are fit on
:func:`n_fit` of them (the split keeps a stratified 20 % per subtype, rounded, at every point:
a constant factor on the log n_atyp axis, which changes no verdict). :func:`estimate_cost`
gives the training the points the tier does not already hold would take.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from salcheck.cohort import PRESETS, largest_remainder
from salcheck.engine.plan import specs_plan
from salcheck.errors import InvalidArgument, check_choice
from salcheck.saliency.resolve import null_refs, resolve
from salcheck.store.keys import ModelSpec
from salcheck.store.tiers import Tier, check_seeds

ROUTES = ("size", "share")
#: The homogeneous preset's mix (errors, typical, atypical): the size route's.
MIX: tuple[float, float, float] = PRESETS["homogeneous"].mix
#: The share route's label errors.
ERRORS = 0.05
#: Images per class of the size route: doubling, with half-octave steps (177, 354) from 125 to
#: 500 per class, where the five-seed curves crossed their levels (n_atyp 13 to 50), so a
#: crossover there is bracketed by points a factor sqrt 2 apart instead of 2 (the tier's
#: homogeneous and large sizes are always added, they are cells the tier trains).
SIZES = (125, 177, 250, 354, 500, 1000, 2000, 4000)
#: Added by ``--extended``: 8,000 per class costs as much training as the rest of the ci run.
EXTENDED_SIZES = (8000,)
#: Atypical shares of the share route (0.10 is the homogeneous cell; 0.025 below 0.05, where
#: the five-seed curves had already crossed at the smallest point).
SHARES = (0.025, 0.05, 0.10, 0.15, 0.25, 0.35, 0.50)


def n_atyp(n_per_class: int, mix: Sequence[float]) -> int:
    """Atypical images of a training cohort as drawn: the cohort's largest-remainder count
    (:func:`salcheck.cohort.largest_remainder`), before the validation split.

    Examples:
        >>> n_atyp(500, (0.05, 0.85, 0.10)), n_atyp(125, (0.05, 0.85, 0.10))
        (50, 13)
    """
    return int(largest_remainder(int(n_per_class), tuple(float(m) for m in mix))[2])


def n_fit(count: int, val_fraction: float = 0.2) -> int:
    """Of ``count`` atypical images, those the weights are fit on: the stratified split keeps
    round(val_fraction * count) for validation (:func:`salcheck.training.loop.stratified_split`).

    Examples:
        >>> n_fit(50), n_fit(13)
        (40, 10)
    """
    return int(count - round(val_fraction * count))


def share_mix(share: float, errors: float = ERRORS) -> tuple[float, float, float]:
    """(errors, typical, atypical) = (errors, 1 - errors - share, share), unrounded: the float
    ``0.95 - share`` the drawn cohorts of F1's property use, so equal cohorts share a key.

    Examples:
        >>> share_mix(0.25)
        (0.05, 0.7, 0.25)
    """
    if not 0 < share <= 1 - errors:
        msg = f"an atypical share must lie in (0, {1 - errors:g}], got share={share!r}"
        raise InvalidArgument(msg)
    return (errors, 1 - errors - share, float(share))


@dataclass(frozen=True)
class DoseGrid:
    """The points of the routes: ``sizes`` per class (size route), atypical ``shares`` (share
    route, at ``share_size`` per class; None: the tier's homogeneous size)."""

    sizes: tuple[int, ...] = SIZES
    shares: tuple[float, ...] = SHARES
    share_size: int | None = None

    def __post_init__(self) -> None:
        bad = [n for n in self.sizes if isinstance(n, bool) or not isinstance(n, int) or n < 1]
        if bad or len(set(self.sizes)) != len(self.sizes):
            msg = f"sizes must be distinct integers >= 1 (images per class), got {list(self.sizes)}"
            raise InvalidArgument(msg)
        for s in self.shares:
            share_mix(s)
        if len(set(self.shares)) != len(self.shares):
            msg = f"shares must be distinct, got {list(self.shares)}"
            raise InvalidArgument(msg)

    @classmethod
    def extended(cls) -> DoseGrid:
        """The default grid with :data:`EXTENDED_SIZES` (a larger machine's run)."""
        return cls(sizes=SIZES + EXTENDED_SIZES)


@dataclass(frozen=True)
class DosePoint:
    """One point of a route: a training set (``dataset`` preset with ``overrides``)."""

    route: str
    dataset: str  # the tier cell's preset: homogeneous (or large, for its own size)
    n_per_class: int
    mix: tuple[float, float, float]
    overrides: tuple[tuple[str, Any], ...] = ()  # the tier.spec overrides; () for a tier cell

    @property
    def n_atyp(self) -> int:
        return n_atyp(self.n_per_class, self.mix)

    @property
    def n_fit(self) -> int:
        return n_fit(self.n_atyp)

    @property
    def cell(self) -> str | None:
        """The tier cell the point is (``homogeneous`` or ``large``), or None."""
        return None if self.overrides else self.dataset

    @property
    def share(self) -> float:
        return self.mix[2]

    def kwargs(self) -> dict[str, Any]:
        return dict(self.overrides)

    def spec(self, tier: Tier, seed: int) -> ModelSpec:
        return tier.spec(self.dataset, "default", seed, **self.kwargs())

    def label(self) -> str:
        cell = f", the {self.cell} cell" if self.cell else ""
        what = f"{self.n_per_class}/class, share {self.share:g}"
        return f"{self.route}: {what} (n_atyp {self.n_atyp}{cell})"


def dose_point(tier: Tier, route: str, n_per_class: int, mix: Sequence[float]) -> DosePoint:
    """The point of ``n_per_class`` images per class at ``mix``: the tier's own cell when one
    has that size and mix (the same spec, the same key), else the homogeneous preset with the
    size (and, off the preset's mix, the mix) overridden."""
    check_choice("route", route, ROUTES)
    mix3 = (float(mix[0]), float(mix[1]), float(mix[2]))
    for dataset in ("homogeneous", "large"):
        if tier.n_per_class[dataset] == n_per_class and np.allclose(PRESETS[dataset].mix, mix3):
            return DosePoint(route, dataset, n_per_class, PRESETS[dataset].mix)
    overrides: dict[str, Any] = {"n_per_class": int(n_per_class)}
    if not np.allclose(MIX, mix3):
        overrides["mix"] = mix3
    return DosePoint(route, "homogeneous", int(n_per_class), mix3, tuple(sorted(overrides.items())))


def size_point(tier: Tier, n_per_class: int) -> DosePoint:
    """A point of the size route (the homogeneous mix)."""
    return dose_point(tier, "size", n_per_class, MIX)


def route_points(tier: Tier, route: str, grid: DoseGrid | None = None) -> list[DosePoint]:
    """The route's points, sorted by n_atyp; the size route always holds the tier's homogeneous
    and large sizes. Raises when a point has no atypical image or two share an n_atyp.

    Examples:
        >>> from salcheck.store.tiers import get_tier
        >>> [p.n_atyp for p in route_points(get_tier("ci"), "size")]
        [13, 18, 25, 35, 50, 100, 200, 400]
        >>> [p.cell for p in route_points(get_tier("ci"), "share")][:4]
        [None, None, 'homogeneous', None]
    """
    check_choice("route", route, ROUTES)
    grid = grid or DoseGrid()
    if route == "size":
        sizes = sorted({*grid.sizes, tier.n_per_class["homogeneous"], tier.n_per_class["large"]})
        points = [size_point(tier, n) for n in sizes]
    else:
        size = grid.share_size or tier.n_per_class["homogeneous"]
        points = [dose_point(tier, "share", size, share_mix(s)) for s in grid.shares]
    points.sort(key=lambda p: p.n_atyp)
    counts = [p.n_atyp for p in points]
    if counts[0] < 1 or len(set(counts)) != len(counts):
        msg = (
            f"the {route} route's points must each hold a distinct number >= 1 of atypical "
            f"images, got n_atyp {counts} for {[p.label() for p in points]}"
        )
        raise InvalidArgument(msg)
    return points


def check_routes(routes: str | Iterable[str]) -> tuple[str, ...]:
    """``"size"``, ``"share"``, ``"both"`` or an iterable of route names -> route names."""
    if isinstance(routes, str):
        check_choice("route", routes, (*ROUTES, "both"))
        return ROUTES if routes == "both" else (routes,)
    out = tuple(dict.fromkeys(routes))
    for r in out:
        check_choice("route", r, ROUTES)
    if not out:
        msg = f"name at least one route of {ROUTES}"
        raise InvalidArgument(msg)
    return out


def dose_specs(tier: Tier, route: str, seed: int, grid: DoseGrid | None = None) -> list[ModelSpec]:
    """The models of one route for one seed, in order of n_atyp.

    Examples:
        >>> from salcheck.store.tiers import get_tier
        >>> ci = get_tier("ci")
        >>> dose_specs(ci, "size", 0)[4] == ci.spec("homogeneous", "default", 0)
        True
    """
    check_seeds([seed])
    return [p.spec(tier, seed) for p in route_points(tier, route, grid)]


def dose_plan(
    tier: Tier,
    method: Any = "vanilla",
    routes: str | Iterable[str] = ROUTES,
    seeds: Iterable[int] | None = None,
    grid: DoseGrid | None = None,
) -> Any:
    """Every model of the routes x seeds, its features, and the maps of ``method`` and of every
    null map (the best null's level is read there)."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
    specs = [s for r in check_routes(routes) for seed in seeds for s in dose_specs(tier, r, seed, grid)]
    return specs_plan(
        tier.test(),
        specs,
        methods=[resolve(method), *null_refs()],
        parts=("features", "maps"),
        protocol=tier.evaluation,
    )


# ----------------------------------------------------------------------------------------------
# cost


#: Measured at the ci scale (64 x 64) on one thread: seconds per epoch per 1,000 training
#: images (35 s for a 20-epoch homogeneous model), and per model for its features and the maps
#: of the method and the four null maps on the 1,000-image test set.
TRAIN_S_PER_EPOCH_PER_1000 = 1.4
#: Epochs a model trains under early stopping, about (a default cell stops at 15-20 epochs;
#: the slow variants, which the routes do not train, take longer).
TYPICAL_EPOCHS = 20
EVAL_S_PER_MODEL = 20.0


@dataclass(frozen=True)
class Cost:
    """Estimated single-thread seconds of the points the tier's cells do not already hold."""

    new_models: int
    reused_models: int
    train_s: float
    eval_s: float

    def hours(self, workers: int = 2) -> float:
        return (self.train_s + self.eval_s) / workers / 3600


def estimate_cost(
    tier: Tier,
    routes: str | Iterable[str] = ROUTES,
    grid: DoseGrid | None = None,
    seeds: Iterable[int] | None = None,
) -> Cost:
    """train_s = sum over new points of 2 n_per_class / 1000 x 1.4 s x epochs x seeds (epochs:
    :data:`TYPICAL_EPOCHS` under early stopping, else the tier's), scaled by
    (image size / 64)^2; eval_s = 20 s per model (new or reused: the nulls' maps are new)."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds)
    points = {p for r in check_routes(routes) for p in route_points(tier, r, grid)}
    unique = {(p.dataset, p.overrides): p for p in points}.values()
    new = [p for p in unique if p.cell is None]
    area = (tier.image_size / 64) ** 2
    epochs = min(tier.epochs, TYPICAL_EPOCHS) if tier.patience else tier.epochs
    per_image = TRAIN_S_PER_EPOCH_PER_1000 / 1000 * epochs * area * len(seeds)
    train = sum(2 * p.n_per_class * per_image for p in new)
    return Cost(
        len(new) * len(seeds),
        (len(unique) - len(new)) * len(seeds),
        train,
        EVAL_S_PER_MODEL * area * len(unique) * len(seeds),
    )

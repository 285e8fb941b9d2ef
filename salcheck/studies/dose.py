"""How many atypical training images does a subtype need before its saliency map shows it?

The dose-response study (issue 22) puts the criteria against n_atyp, the number of atypical
images in the training cohort, along the two routes of :mod:`salcheck.studies.dose_grid` (the
points, their models and plan). This module reads and decides.

:func:`collect` reads per criterion the :class:`~salcheck.science.dose.DoseCurve` of each route,
with its level: for the map criteria (b, c, b†, c†) the best null map at each point (the null
with the highest mean there, per seed on the same models), for a its chance (ARI 0), for the
atypical test accuracy a stated :data:`ACCURACY_LEVEL`. :func:`decide` gives the trends, the
crossovers and the routes' collapse. The verdicts the property suite gates on, and their
record, are :mod:`salcheck.studies.dose_record`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from salcheck.errors import InvalidArgument
from salcheck.saliency.resolve import null_refs
from salcheck.science.dose import CollapseVerdict, TrendVerdict, routes_collapse, trend_test
from salcheck.science.dose_crossover import Crossover, DoseCurve, crossover, dose_curve
from salcheck.science.findings import SYMBOLS as FINDING_SYMBOLS
from salcheck.science.stats import ALPHA
from salcheck.store.files import Store
from salcheck.store.records import Evaluation, ModelResult
from salcheck.store.tiers import Tier
from salcheck.store.view import ResultsView
from salcheck.studies.dose_grid import ROUTES, DoseGrid, DosePoint, check_routes, route_points

MAP_KEYS = ("b", "c", "b_dagger", "c_dagger")
#: The atypical test accuracy: the features' accuracy on atrophied (AD) atypical images.
ACCURACY = "accuracy_atypical"
ACCURACY_KEY = "accuracy_AD_atypical"
CRITERIA = ("a", *MAP_KEYS, ACCURACY)
SYMBOLS = {**FINDING_SYMBOLS, ACCURACY: "atyp. acc."}
#: The stated level of the accuracy crossover: most atypical images classified as atrophied
#: (chance on a balanced test set is 0.5), below the ~0.95 of the ci tier's 500-per-class
#: models, so the crossing falls inside the grid when the subtype is learned at all.
ACCURACY_LEVEL = 0.8
#: The criterion the study's headline verdicts (crossover against the nulls, collapse) are on.
HEADLINE = "b_dagger"


# ----------------------------------------------------------------------------------------------
# reading the curves


def point_values(view: ResultsView, point: DosePoint, criterion: str) -> list[float]:
    """One criterion per seed of the view at ``point`` (the accuracy from the features)."""
    if criterion == ACCURACY:
        runs = view.evaluations(point.dataset, "default", "features", **point.kwargs())
        return [float(r.accuracy[ACCURACY_KEY]) for r in runs]
    return view.values(point.dataset, "default", criterion, **point.kwargs())


def read_curve(
    view: ResultsView,
    points: Sequence[DosePoint],
    criterion: str,
    level: Any = 1.0,
    level_name: str = "chance (1)",
) -> DoseCurve:
    """The view's criterion along ``points`` (one route) as a :class:`DoseCurve`."""
    values = np.array([point_values(view, p, criterion) for p in points]).T
    scale = "log" if criterion in MAP_KEYS else "difference"
    return dose_curve(
        points[0].route,
        [p.n_atyp for p in points],
        values,
        level,
        scale=scale,
        criterion=SYMBOLS.get(criterion, criterion),
        level_name=level_name,
        seeds=view.seeds,
    )


def best_nulls(
    nulls: Sequence[ResultsView], points: Sequence[DosePoint], criterion: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(level[s, p], name per point): at each point the null map with the highest mean of
    ``criterion`` over seeds (nulls with a non-finite value there are passed over)."""
    levels, names = [], []
    for p in points:
        candidates = {n.method_name: np.array(point_values(n, p, criterion)) for n in nulls}
        finite = {k: v for k, v in candidates.items() if np.all(np.isfinite(v))}
        if not finite:
            msg = f"no null map gives a finite {criterion} at {p.label()}: {candidates}"
            raise InvalidArgument(msg)
        name = max(finite, key=lambda k: float(finite[k].mean()))
        levels.append(finite[name])
        names.append(name)
    return np.array(levels).T, tuple(names)


@dataclass(frozen=True)
class DoseData:
    """What the study read: per criterion and route the curve with its level, and per map
    criterion and route the best null's name at each point."""

    tier: Tier
    method: str
    seeds: tuple[int, ...]
    points: dict[str, tuple[DosePoint, ...]]
    curves: dict[str, dict[str, DoseCurve]]
    best_null: dict[str, dict[str, tuple[str, ...]]]
    models: dict[str, tuple[tuple[ModelResult, ...], ...]] = field(repr=False)  # route, point, seed
    maps: tuple[Evaluation, ...] = field(repr=False, default=())  # the method's, for provenance
    grid: DoseGrid = field(default_factory=lambda: DoseGrid())  # the grid the points are of

    @property
    def routes(self) -> tuple[str, ...]:
        return tuple(self.points)


def collect(
    store: Store,
    tier: Tier,
    method: Any = "vanilla",
    routes: str | Iterable[str] = ROUTES,
    seeds: Iterable[int] | None = None,
    grid: DoseGrid | None = None,
) -> DoseData:
    """Every curve of the routes, read from the store (raises
    :class:`~salcheck.store.view.MissingResults` naming what is missing; computes nothing)."""
    view = ResultsView(store, tier, method, seeds=seeds)
    nulls = [view.for_method(n) for n in null_refs()]
    points = {r: tuple(route_points(tier, r, grid)) for r in check_routes(routes)}
    curves: dict[str, dict[str, DoseCurve]] = {k: {} for k in CRITERIA}
    best: dict[str, dict[str, tuple[str, ...]]] = {k: {} for k in MAP_KEYS}
    for route, pts in points.items():
        for k in MAP_KEYS:
            level, best[k][route] = best_nulls(nulls, pts, k)
            curves[k][route] = read_curve(view, pts, k, level, "best null")
        curves["a"][route] = read_curve(view, pts, "a", 0.0, "chance (ARI 0)")
        level_name = f"level {ACCURACY_LEVEL:g}"
        curves[ACCURACY][route] = read_curve(view, pts, ACCURACY, ACCURACY_LEVEL, level_name)
    models = {
        r: tuple(tuple(view.models(p.dataset, "default", **p.kwargs())) for p in pts)
        for r, pts in points.items()
    }
    every = [p for pts in points.values() for p in pts]
    maps = tuple(e for p in every for e in view.evaluations(p.dataset, "default", "maps", **p.kwargs()))
    return DoseData(
        tier, view.method_name, view.seeds, points, curves, best, models, maps, grid or DoseGrid()
    )


# ----------------------------------------------------------------------------------------------
# verdicts


@dataclass(frozen=True)
class DoseVerdicts:
    """Trends per (criterion, route), crossovers per (criterion, route) against each curve's
    level, and the routes' collapse on :data:`HEADLINE` (None with one route)."""

    trends: dict[tuple[str, str], TrendVerdict]
    crossovers: dict[tuple[str, str], Crossover]
    collapse: CollapseVerdict | None
    alpha: float = ALPHA


def decide(data: DoseData, *, alpha: float = ALPHA, n_boot: int = 4000, seed: int = 0) -> DoseVerdicts:
    """Page's trend test of every curve, the crossover of every curve over its level (bootstrap
    seeded by ``seed``), and the collapse of the two routes' b† (:mod:`salcheck.science.dose`)."""
    trends: dict[tuple[str, str], TrendVerdict] = {}
    crossings: dict[tuple[str, str], Crossover] = {}
    for k, by_route in data.curves.items():
        for route, curve in by_route.items():
            trends[(k, route)] = trend_test(curve, alpha=alpha)
            crossings[(k, route)] = crossover(curve, n_boot=n_boot, seed=seed)
    both = data.curves[HEADLINE]
    collapse = routes_collapse(both["size"], both["share"], alpha=alpha) if len(both) == 2 else None
    return DoseVerdicts(trends, crossings, collapse, alpha)


# ----------------------------------------------------------------------------------------------
# what the study took


def measured_seconds(data: DoseData) -> tuple[float, float]:
    """(training, evaluation of the method) seconds the store's records took, summed."""
    train = sum(r.timings.get("train_s", 0.0) for pts in data.models.values() for rs in pts for r in rs)
    return float(train), float(sum(e.timings.get("total_s", 0.0) for e in data.maps))

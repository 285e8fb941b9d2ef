"""How many atypical training images does a subtype need before its saliency map shows it?

The dose-response study (issue 22) puts the criteria against n_atyp, the number of atypical
images in the training cohort, along two *routes* (:data:`ROUTES`):

- ``size``: the set size at the homogeneous mix (errors, typical, atypical) = (0.05, 0.85,
  0.10), :data:`SIZES` images per class (8,000 only by :meth:`DoseGrid.extended`: one point
  that costs as much as the rest of the run);
- ``share``: the atypical share s at the tier's homogeneous size (500 per class), errors 0.05,
  typical 0.95 - s, s in :data:`SHARES`.

Every point is a grid cell like any other: the same store, keys and seeds as the tier's cells,
and a point that *is* a tier cell is that cell's exact spec (500 per class at the homogeneous
mix is ``tier.spec("homogeneous")``, the tier's large size is ``tier.spec("large")``), so no
model is trained twice. n_atyp counts the atypical images of the cohort as drawn, *before*
the validation split (:func:`n_atyp`): the dataset a user collects, the poster's numbers (50
atypical images at 500 per class, 1,000 at 10,000); the network's weights are fit on
:func:`n_fit` of them (the split keeps a stratified 20 % per subtype, rounded, at every point:
a constant factor on the log n_atyp axis, which changes no verdict).

:func:`collect` reads per criterion the :class:`~salcheck.science.dose.DoseCurve` of each route,
with its level: for the map criteria (b, c, b†, c†) the best null map at each point (the null
with the highest mean there, per seed on the same models), for a its chance (ARI 0), for the
atypical test accuracy a stated :data:`ACCURACY_LEVEL`. :func:`decide` gives the trends, the
crossovers and the routes' collapse; :func:`dose_record` records the verdicts the property
suite gates on (:func:`salcheck.science.verdicts.gate`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import salcheck.atomic as atomic
from salcheck.cohort import PRESETS, largest_remainder
from salcheck.engine.plan import specs_plan
from salcheck.errors import InvalidArgument, check_choice
from salcheck.provenance import git_commit
from salcheck.saliency.resolve import null_refs, resolve
from salcheck.science.dose import (
    CollapseVerdict,
    Crossover,
    DoseCurve,
    TrendVerdict,
    crossover,
    dose_curve,
    routes_collapse,
    trend_test,
)
from salcheck.science.findings import SYMBOLS as FINDING_SYMBOLS
from salcheck.science.stats import ALPHA
from salcheck.science.verdicts import GATE_ALPHA, RECORD_VERSION, read_record, record_name
from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec
from salcheck.store.records import Evaluation, ModelResult
from salcheck.store.tiers import Tier, check_seeds
from salcheck.store.view import ResultsView

ROUTES = ("size", "share")
#: The homogeneous preset's mix (errors, typical, atypical): the size route's.
MIX: tuple[float, float, float] = PRESETS["homogeneous"].mix
#: The share route's label errors.
ERRORS = 0.05
#: Images per class of the size route (doubling; the tier's homogeneous and large sizes are
#: always added, they are cells the tier trains).
SIZES = (125, 250, 500, 1000, 2000, 4000)
#: Added by ``--extended``: 8,000 per class costs as much training as the rest of the ci run.
EXTENDED_SIZES = (8000,)
#: Atypical shares of the share route (0.10 is the homogeneous cell).
SHARES = (0.05, 0.10, 0.15, 0.25, 0.35, 0.50)
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
#: Criteria of F2 (more data, better maps) restated as trends on the size route.
F2_KEYS = MAP_KEYS


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
        [13, 25, 50, 100, 200, 400]
        >>> [p.cell for p in route_points(get_tier("ci"), "share")][:3]
        [None, 'homogeneous', None]
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
        >>> dose_specs(ci, "size", 0)[2] == ci.spec("homogeneous", "default", 0)
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
# what the default property suite reads, and the record its gate reads


def property_points(tier: Tier) -> list[DosePoint]:
    """The size-route points the default property suite affords: half the homogeneous size
    (a point of the dose grid), the homogeneous cell and the large cell."""
    half = tier.n_per_class["homogeneous"] // 2
    sizes = sorted({half, tier.n_per_class["homogeneous"], tier.n_per_class["large"]})
    return [size_point(tier, n) for n in sizes]


def points_plan(tier: Tier, method: Any, points: Iterable[DosePoint], seeds: Iterable[int]) -> Any:
    """The models of ``points`` x ``seeds`` and the maps of ``method`` on them (no nulls)."""
    specs = [p.spec(tier, s) for p in points for s in check_seeds(seeds)]
    return specs_plan(tier.test(), specs, methods=[method], parts=("maps",), protocol=tier.evaluation)


def property_curves(view: ResultsView, extra: Iterable[DosePoint] = ()) -> dict[str, DoseCurve]:
    """b, c, b†, c† along :func:`property_points` and ``extra`` points (level: chance, 1)."""
    points = sorted([*property_points(view.tier), *extra], key=lambda p: p.n_atyp)
    counts = [p.n_atyp for p in points]
    if len(set(counts)) != len(counts):
        msg = f"points of one curve need distinct n_atyp, got {counts}"
        raise InvalidArgument(msg)
    return {k: read_curve(view, points, k) for k in F2_KEYS}


@dataclass(frozen=True)
class GateInput:
    """A dose verdict as :func:`salcheck.science.verdicts.gate` reads it (p_forward: the p of
    the claim; digest: of the values decided on)."""

    claim: str
    outcome: str
    p_forward: float | None
    text: str
    values: tuple[float, ...]
    reason: str = ""

    @property
    def holds(self) -> bool:
        return self.outcome == "replicated"

    def digest(self) -> str:
        payload = ",".join(float(v).hex() for v in self.values)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def message(self) -> str:
        return self.text


def trend_gate_input(verdict: TrendVerdict, curve: DoseCurve) -> GateInput:
    values = (*curve.n_atyp.tolist(), *curve.values.ravel().tolist())
    return GateInput(verdict.claim, verdict.outcome, verdict.p_increasing, verdict.message(), values)


def collapse_gate_input(verdict: CollapseVerdict, a: DoseCurve, b: DoseCurve) -> GateInput:
    values = tuple(float(v) for c in (a, b) for v in (*c.n_atyp, *c.values.ravel()))
    return GateInput(verdict.claim, verdict.outcome, verdict.p_equivalent, verdict.message(), values)


def property_key(criterion: str) -> str:
    """Record key of the default suite's trend of ``criterion`` (F2 on the curve)."""
    return f"dose-F2-{criterion}"


def property_trends(view: ResultsView, alpha: float = ALPHA) -> dict[str, GateInput]:
    """record key -> the default suite's trend of each F2 criterion along the size route."""
    return {
        property_key(k): trend_gate_input(trend_test(c, alpha=alpha), c)
        for k, c in property_curves(view).items()
    }


def full_decisions(data: DoseData, verdicts: DoseVerdicts) -> dict[str, GateInput]:
    """record key -> the whole curve's b† trend per route, and the routes' collapse."""
    out = {
        f"dose-trend-{route}-{HEADLINE}": trend_gate_input(verdicts.trends[(HEADLINE, route)], curve)
        for route, curve in data.curves[HEADLINE].items()
    }
    if verdicts.collapse is not None:
        size, share = data.curves[HEADLINE]["size"], data.curves[HEADLINE]["share"]
        out[f"dose-collapse-{HEADLINE}"] = collapse_gate_input(verdicts.collapse, size, share)
    return out


def dose_record_path(directory: str | Path, tier: str, method: str) -> Path:
    """``<directory>/<tier>-<method>-dose.json`` beside the findings' record."""
    return Path(directory) / record_name(tier, method).replace(".json", "-dose.json")


def dose_record(view: ResultsView, decisions: dict[str, GateInput]) -> dict[str, Any]:
    """A record in the findings' format (:mod:`salcheck.science.verdicts`) of ``decisions``."""
    entry: Callable[[GateInput], dict[str, Any]] = lambda g: {
        "outcome": g.outcome,
        "claim": g.claim,
        "p_forward": g.p_forward,
        "message": g.text,
        "seeds": list(view.seeds),
        "digest": g.digest(),
    }
    return {
        "record_version": RECORD_VERSION,
        "tier": view.tier.name,
        "method": view.method_name,
        "seeds": list(view.seeds),
        "protocol": view.protocol_id,
        "alpha": ALPHA,
        "gate_alpha": GATE_ALPHA,
        "git_commit": git_commit(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "verdicts": {k: entry(g) for k, g in sorted(decisions.items())},
    }


def write_dose_record(view: ResultsView, decisions: dict[str, GateInput], directory: str | Path) -> Path:
    path = dose_record_path(directory, view.tier.name, view.method_name)
    atomic.write_text(path, json.dumps(dose_record(view, decisions), indent=1, sort_keys=True) + "\n")
    return path


def dose_entries(directory: str | Path | None, tier: str, method: str) -> dict[str, dict[str, Any]]:
    """key -> recorded dose entry for (tier, method); empty without a record."""
    if directory is None:
        return {}
    path = dose_record_path(directory, tier, method)
    return dict(read_record(path)["verdicts"]) if path.exists() else {}


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


def measured_seconds(data: DoseData) -> tuple[float, float]:
    """(training, evaluation of the method) seconds the store's records took, summed."""
    train = sum(r.timings.get("train_s", 0.0) for pts in data.models.values() for rs in pts for r in rs)
    return float(train), float(sum(e.timings.get("total_s", 0.0) for e in data.maps))

"""Rank saliency methods against the null maps: sanity first, every aggregate with an interval.

Pure functions over plain numbers (no store, no torch); :func:`rank` runs them in order.

Inputs (one layout for every function)
--------------------------------------
- ``scores``: method -> dataset -> criterion -> per-seed values. Position i of every list, for
  every method and every null of one dataset, comes from the same trained model (paired by seed).
- ``nulls``: null map -> dataset -> criterion -> per-seed values, the same layout.
- ``checks``: method -> sanity check name -> passed.

Steps
-----
0. Identical methods share one row (:func:`identical_methods`): methods whose log ratios to the
   best null are exactly equal (``==``) on every unit and criterion the ranking reads, and that
   fail the same sanity checks, are one row listing its members (``Row.members``, in the order
   given). Identical maps give identical scores (on the study's LeakyReLU networks the vanilla
   gradient, captum's GuidedBackprop and Deconvolution and MONAI's GuidedBackpropGrad all
   return the gradient), so such a group is one method under several names: it counts once in
   the Friedman test, the mean ranks and the neighbours, and it is never ordered by name.
1. Against the nulls (:func:`log_ratio_to_best_null`): r = log(x / x_null) per (dataset, seed,
   criterion), x_null the best null of that dataset and criterion on the same seed. r = 0 is
   chance, r = log 2 twice the best null.
2. One score per unit u = (dataset, seed): s_u = mean over the criteria of r (the log of the
   geometric mean of the ratios to the nulls).
3. Aggregate over units: the interquartile mean, with a percentile bootstrap interval that
   resamples seeds within each dataset (:mod:`salcheck.science.ranking_stats`, which says why
   the IQM and the percentile interval with 5 seeds per dataset).
4. Sanity first (:func:`rank`): a method that fails a check ranks after every method that
   passes; each block is ordered by the aggregate of s, then by mean rank. Rows still tied on
   both (equal estimates, not identical scores: those share a row) keep the order the benchmark
   was asked for (the order of ``scores``), never the names' order; :meth:`Ranking.places`
   gives them one shared place, which the page prints as tied (``2=``).
5. Neighbours (:func:`probability_of_beating`): P(A beats B on a random unit), with its interval.
6. Friedman test and Nemenyi critical difference over methods on the per-unit mean rank
   across criteria (:func:`salcheck.science.ranking_stats.friedman_nemenyi`).

References: Demšar, J. (2006), Statistical comparisons of classifiers over multiple data sets,
JMLR 7:1-30. Agarwal, R. et al. (2021), Deep reinforcement learning at the edge of the
statistical precipice, NeurIPS (the probability of improvement).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

from salcheck.errors import InvalidArgument, check_choice
from salcheck.science.ranking_stats import (
    ALPHA,
    Friedman,
    Interval,
    Resampling,
    Strata,
    average_ranks,
    friedman_nemenyi,
    iqm,
    mean,
    median,
    stratified_interval,
)

#: The criteria that rank methods (ratios whose chance level is 1; see :mod:`salcheck.criteria`).
RANK_CRITERIA = ("b", "c", "b_dagger", "c_dagger")
#: The criteria on which a method must beat the best null to stay in the sanity block.
BEATS_NULLS_ON = ("b", "c")
PASSES, FAILS = "passes", "fails"

Values = Mapping[str, Mapping[str, Sequence[float]]]  # dataset -> criterion -> per-seed values
Table = Mapping[str, Values]  # method (or null) -> dataset -> criterion -> per-seed values

#: Aggregates over units that :func:`rank` accepts.
AGGREGATES: dict[str, Callable[..., np.ndarray]] = {"iqm": iqm, "median": median}


# --- scores against the nulls ------------------------------------------------------------------


@dataclass(frozen=True)
class NullRelative:
    """Log ratios to the best null: ``ratios[method][dataset][criterion]`` per seed."""

    ratios: dict[str, dict[str, dict[str, np.ndarray]]] = field(repr=False)
    best: dict[tuple[str, str], str]  # (dataset, criterion) -> the null map divided by
    datasets: tuple[str, ...]
    criteria: tuple[str, ...]

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.ratios)

    def strata(self, method: str, criterion: str) -> dict[str, np.ndarray]:
        """dataset -> log ratio per seed of ``method`` on ``criterion``."""
        return {d: self.ratios[method][d][criterion] for d in self.datasets}

    def unit_scores(self, method: str, criteria: Sequence[str]) -> dict[str, np.ndarray]:
        """dataset -> s per seed: the mean over ``criteria`` of the log ratio."""
        return {d: np.mean([self.ratios[method][d][k] for k in criteria], axis=0) for d in self.datasets}


def _layout(scores: Table) -> dict[str, int]:
    """dataset -> number of seeds, read from the first method."""
    if not scores:
        raise InvalidArgument("need at least one method to rank, got none")
    name, first = next(iter(scores.items()))
    if not first:
        raise InvalidArgument(f"method {name!r} has no datasets")
    seeds = {d: len(next(iter(v.values()), ())) for d, v in first.items()}
    if min(seeds.values()) < 2:
        msg = f"need at least 2 seeds per dataset, got {seeds} for {name!r}"
        raise InvalidArgument(msg)
    return seeds


def _arrays(
    name: str, entry: Values, seeds: Mapping[str, int], criteria: Sequence[str]
) -> dict[str, dict[str, np.ndarray]]:
    """Check one method's (or null's) values against the layout; return them as arrays."""
    if set(entry) != set(seeds):
        msg = f"{name!r} has datasets {sorted(entry)}; every method and null needs {sorted(seeds)}"
        raise InvalidArgument(msg)
    out: dict[str, dict[str, np.ndarray]] = {}
    for d, n in seeds.items():
        out[d] = {}
        for k in criteria:
            if k not in entry[d]:
                msg = f"{name!r} on {d} has no criterion {k!r}; needed: {', '.join(criteria)}"
                raise InvalidArgument(msg)
            v = np.asarray(entry[d][k], float)
            if v.shape != (n,):
                msg = (
                    f"{name!r} {k} on {d} has {v.size} values; expected {n}, one per seed, "
                    "paired across methods and nulls"
                )
                raise InvalidArgument(msg)
            bad = v[~(np.isfinite(v) & (v > 0))]
            if bad.size:
                msg = f"{name!r} {k} on {d}: a log ratio needs finite values > 0, got {bad[0]!r}"
                raise InvalidArgument(msg)
            out[d][k] = v
    return out


def best_nulls(
    nulls: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    datasets: Sequence[str],
    criteria: Sequence[str],
) -> dict[tuple[str, str], str]:
    """(dataset, criterion) -> the null with the highest mean over seeds (first on ties)."""
    return {
        (d, k): max(nulls, key=lambda z: float(np.mean(nulls[z][d][k])))
        for d in datasets
        for k in criteria
    }


def log_ratio_to_best_null(
    scores: Table, nulls: Table, criteria: Sequence[str] = RANK_CRITERIA
) -> NullRelative:
    """``r[m][d][k][s] = log(x[m][d][k][s] / x[z*][d][k][s])``, ``z* = argmax_z mean_s x[z][d][k]``.

    The best null is chosen once per (dataset, criterion), on its mean over seeds, as
    ``Benchmark.chance`` and the page's *best null* row do; then it is divided out seed by seed,
    so what the method shares with the null on one model cancels. Choosing the best null per
    seed instead would take a maximum of noisy values (biased upwards) and switch references
    between seeds. Values must be finite and > 0 (the ranking criteria are ratios).

    Examples:
        >>> rel = log_ratio_to_best_null(
        ...     {"grad": {"d": {"b": [4.0, 8.0]}}},
        ...     {"random": {"d": {"b": [1.0, 1.0]}}, "edges": {"d": {"b": [2.0, 2.0]}}},
        ...     criteria=("b",),
        ... )
        >>> rel.best[("d", "b")], np.round(np.exp(rel.ratios["grad"]["d"]["b"]), 6).tolist()
        ('edges', [2.0, 4.0])
    """
    criteria = tuple(dict.fromkeys(criteria))
    if not criteria:
        raise InvalidArgument("need at least one criterion, got none")
    if not nulls:
        raise InvalidArgument("need at least one null map to score against, got none")
    clash = sorted(set(scores) & set(nulls))
    if clash:
        raise InvalidArgument(f"{clash} are given both as methods and as null maps")
    seeds = _layout(scores)
    x = {m: _arrays(m, v, seeds, criteria) for m, v in scores.items()}
    z = {m: _arrays(m, v, seeds, criteria) for m, v in nulls.items()}
    best = best_nulls(z, tuple(seeds), criteria)
    ratios = {
        m: {d: {k: np.log(v[d][k] / z[best[d, k]][d][k]) for k in criteria} for d in seeds}
        for m, v in x.items()
    }
    return NullRelative(ratios, best, tuple(seeds), criteria)


# --- neighbours ----------------------------------------------------------------------------------


def probability_of_beating(
    a: Strata,
    b: Strata,
    *,
    seed: int | np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    method: str = "percentile",
) -> Interval:
    """P(A beats B on a random unit) = mean_u (1[a_u > b_u] + ½ 1[a_u = b_u]), with an interval.

    Units are paired: a_u and b_u come from the same (dataset, seed). The interval is
    :func:`stratified_interval` of the per-unit outcomes (resampling a unit resamples the pair).
    The probability of improvement of Agarwal et al. (2021), on paired units. An interval whose
    low end exceeds 0.5 says that the seeds separate A from B.

    Examples:
        >>> p = probability_of_beating({"d": [2.0, 3, 4]}, {"d": [1.0, 2, 5]}, seed=0)
        >>> round(p.estimate, 3), p.low, p.high
        (0.667, 0.0, 1.0)
    """
    if set(a) != set(b):
        raise InvalidArgument(f"A has datasets {sorted(a)}, B has {sorted(b)}; need the same")
    wins = {}
    for d in a:
        x, y = np.asarray(a[d], float), np.asarray(b[d], float)
        if x.shape != y.shape:
            msg = f"on {d}, A has {x.size} units and B {y.size}; paired units need the same number"
            raise InvalidArgument(msg)
        wins[d] = (x > y) + 0.5 * (x == y)
    return stratified_interval(
        wins, mean, seed=seed, confidence=confidence, n_resamples=n_resamples, method=method
    )


# --- per-unit ranks -----------------------------------------------------------------------------


def criterion_ranks(rel: NullRelative, criteria: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """method -> per unit (datasets in order, then seeds) the mean over ``criteria`` of its rank
    among all methods on that unit and criterion (1 = highest log ratio; ties share the mean
    rank). Dividing by a null common to every method on a unit leaves these ranks unchanged."""
    criteria = tuple(criteria or rel.criteria)
    methods = rel.methods
    total = np.zeros(
        (sum(len(rel.ratios[methods[0]][d][criteria[0]]) for d in rel.datasets), len(methods))
    )
    for k in criteria:
        table = np.column_stack(
            [np.concatenate([rel.ratios[m][d][k] for d in rel.datasets]) for m in methods]
        )
        total += stats.rankdata(-table, axis=1)
    return {m: total[:, j] / len(criteria) for j, m in enumerate(methods)}


# --- the ranking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of the ranking: a method, or methods with identical scores (:func:`identical_methods`)."""

    method: str  # the row's key: its first member (Friedman's, the neighbours' and the intervals')
    block: str  # PASSES or FAILS
    score: Interval  # aggregate over units of s (mean over the criteria of the log ratio)
    criteria: dict[str, Interval]  # aggregate over units of each criterion's log ratio
    mean_rank: float  # R_j among every row (1 = best), as in the Friedman test
    failed: tuple[str, ...]  # the sanity checks it fails
    members: tuple[str, ...] = ()  # every method of the row, ``method`` first; () -> (method,)

    def __post_init__(self) -> None:
        if not self.members:
            object.__setattr__(self, "members", (self.method,))
        elif self.members[0] != self.method:
            msg = f"a row's first member is its method; got {self.method!r}, members {self.members}"
            raise InvalidArgument(msg)


@dataclass(frozen=True)
class Neighbours:
    """P(``better`` beats ``worse`` on a random unit), for two methods next to each other."""

    better: str
    worse: str
    probability: Interval
    across_blocks: bool = False  # better passes every sanity check, worse fails one

    @property
    def separated(self) -> bool:
        """The interval lies above ½: the seeds tell the two apart."""
        return self.probability.low > 0.5


@dataclass(frozen=True)
class Ranking:
    rows: tuple[Row, ...]  # passing block first, each block by decreasing score, then mean rank
    neighbours: tuple[Neighbours, ...]  # rows i and i + 1
    friedman: Friedman | None  # None with fewer than 3 methods
    best_nulls: dict[tuple[str, str], str]
    criteria: tuple[str, ...]
    aggregate: str
    resampling: Resampling
    units: dict[str, int]  # dataset -> seeds

    def places(self) -> tuple[str, ...]:
        """Each row's place, ``"1"``, ``"2"``...; rows tied on the ordering (same block, same
        score estimate, same mean rank) share the place of the first of them, marked ``=``
        (``"2="``, ``"2="``, ``"4"``): their order in :attr:`rows` is the order the benchmark was
        asked for, not a result."""
        keys = [_order(r) for r in self.rows]
        return tuple(f"{keys.index(k) + 1}{'=' if keys.count(k) > 1 else ''}" for k in keys)


def _order(row: Row) -> tuple[bool, float, float]:
    """The sort key of the rows: sanity block, then decreasing score, then mean rank (an
    undefined score or rank, NaN, sorts last in its block). No name: rows equal on it keep their
    input order (``list.sort`` is stable)."""
    score, rank = row.score.estimate, row.mean_rank
    return (
        row.block != PASSES,
        math.inf if math.isnan(score) else -score,
        math.inf if math.isnan(rank) else rank,
    )


def beats_nulls(
    rel: NullRelative,
    method: str,
    criteria: Sequence[str] = BEATS_NULLS_ON,
    *,
    aggregate: str = "iqm",
    resampling: Resampling | None = None,
) -> dict[str, bool]:
    """``beats_nulls(k)`` -> passed, per criterion k: the low end of the interval of the
    aggregate log ratio to the best null lies above 0 (above chance beyond the seed spread)."""
    resampling = resampling or Resampling()
    statistic = AGGREGATES[aggregate]
    return {
        f"beats_nulls({k})": resampling.interval(rel.strata(method, k), statistic, method, k).low > 0
        for k in criteria
    }


def _sanity(
    checks: Mapping[str, Mapping[str, bool]], methods: Sequence[str]
) -> dict[str, dict[str, bool]]:
    unknown = sorted(set(checks) - set(methods))
    if unknown:
        raise InvalidArgument(
            f"checks given for {unknown}, which are not among the methods {list(methods)}"
        )
    return {m: {c: bool(ok) for c, ok in checks.get(m, {}).items()} for m in methods}


def identical_methods(
    rel: NullRelative, checks: Mapping[str, Mapping[str, bool]] | None = None
) -> tuple[tuple[str, ...], ...]:
    """The methods of ``rel`` in groups of identical methods, each group and its members in
    input order (a method alone is a group of one).

    The rule: two methods are identical when their log ratios to the best null are exactly
    equal (``==``, no tolerance) on every (dataset, seed, criterion) of ``rel`` (the criteria
    the ranking scores and those :func:`beats_nulls` reads), and they fail the same checks of
    ``checks`` (method -> check -> passed; a method with identical scores that fails another
    check stays a row of its own). These are the numbers the ranking reads, so identical
    methods get identical rows whatever their names; identical maps give identical scores.
    Methods whose maps agree only to a tolerance (``Benchmark.equivalences``) but whose scores
    differ in a digit are not merged: their rows are tied, not identical.

    Examples:
        >>> rel = log_ratio_to_best_null(
        ...     {"grad": {"d": {"b": [2.0, 4.0]}}, "gbp": {"d": {"b": [2.0, 4.0]}},
        ...      "ig": {"d": {"b": [2.0, 4.5]}}},
        ...     {"random": {"d": {"b": [1.0, 1.0]}}},
        ...     criteria=("b",),
        ... )
        >>> identical_methods(rel)
        (('grad', 'gbp'), ('ig',))
    """
    checks = checks or {}

    def failed(m: str) -> frozenset[str]:
        return frozenset(c for c, ok in checks.get(m, {}).items() if not ok)

    def same(a: str, b: str) -> bool:
        return failed(a) == failed(b) and all(
            np.array_equal(rel.ratios[a][d][k], rel.ratios[b][d][k], equal_nan=True)
            for d in rel.datasets
            for k in rel.criteria
        )

    groups: list[list[str]] = []
    for m in rel.methods:
        group = next((g for g in groups if same(g[0], m)), None)
        if group is None:
            groups.append([m])
        else:
            group.append(m)
    return tuple(tuple(g) for g in groups)


def _merged(rel: NullRelative, groups: Sequence[Sequence[str]]) -> NullRelative:
    """``rel`` with one method per group, the group's first member (identical to the rest)."""
    return replace(rel, ratios={g[0]: rel.ratios[g[0]] for g in groups})


def _row(
    rel: NullRelative,
    members: Sequence[str],
    checks: Mapping[str, bool],
    criteria: Sequence[str],
    statistic: Callable[..., np.ndarray],
    resampling: Resampling,
) -> Row:
    method = members[0]
    failed = tuple(c for c, ok in checks.items() if not ok)
    return Row(
        method,
        FAILS if failed else PASSES,
        resampling.interval(rel.unit_scores(method, criteria), statistic, method, "score"),
        {k: resampling.interval(rel.strata(method, k), statistic, method, k) for k in criteria},
        math.nan,
        failed,
        tuple(members),
    )


def rank(
    scores: Table,
    nulls: Table,
    checks: Mapping[str, Mapping[str, bool]],
    *,
    criteria: Sequence[str] = RANK_CRITERIA,
    beats_nulls_on: Sequence[str] = BEATS_NULLS_ON,
    aggregate: str = "iqm",
    resampling: Resampling | None = None,
    alpha: float = ALPHA,
) -> Ranking:
    """Rank methods against the nulls, sanity first (the module's steps 0-6).

    ``checks`` (method -> check -> passed) are joined by :func:`beats_nulls` on
    ``beats_nulls_on`` (pass ``()`` to leave it out). Methods with identical scores share one
    row (:func:`identical_methods`: exactly equal log ratios on every unit and criterion, the
    same failed checks), merged before anything is computed, so a group counts once in the
    Friedman test, the mean ranks and the neighbours. Rows: every row that passes every check,
    by decreasing aggregate of s, then by mean rank, then every row that fails one, likewise;
    rows still tied keep the order of ``scores`` (the order the benchmark was asked for), never
    the names' order, and :meth:`Ranking.places` marks them as tied.
    """
    check_choice("aggregate", aggregate, tuple(AGGREGATES))
    if not criteria:
        raise InvalidArgument("need at least one criterion to rank on, got none")
    resampling = resampling or Resampling()
    statistic = AGGREGATES[aggregate]
    full = log_ratio_to_best_null(scores, nulls, (*criteria, *beats_nulls_on))
    sanity = _sanity(checks, full.methods)
    groups = identical_methods(full, sanity)
    rel = _merged(full, groups)
    for m in rel.methods:
        sanity[m].update(beats_nulls(rel, m, beats_nulls_on, aggregate=aggregate, resampling=resampling))
    unit_ranks = criterion_ranks(rel, criteria)
    friedman = friedman_nemenyi(unit_ranks, alpha) if len(rel.methods) >= 3 else None
    R = friedman.mean_ranks if friedman else average_ranks(unit_ranks)
    rows = [
        replace(_row(rel, g, sanity[g[0]], criteria, statistic, resampling), mean_rank=R[g[0]])
        for g in groups
    ]
    rows.sort(key=_order)
    neighbours = tuple(
        Neighbours(
            a.method,
            b.method,
            probability_of_beating(
                rel.unit_scores(a.method, criteria),
                rel.unit_scores(b.method, criteria),
                **resampling.options(a.method, b.method),
            ),
            a.block != b.block,
        )
        for a, b in itertools.pairwise(rows)
    )
    units = {d: len(rel.ratios[rel.methods[0]][d][criteria[0]]) for d in rel.datasets}
    return Ranking(
        tuple(rows), neighbours, friedman, rel.best, tuple(criteria), aggregate, resampling, units
    )

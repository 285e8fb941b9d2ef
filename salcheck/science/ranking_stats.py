"""The statistics the ranking runs on: aggregates over units, stratified bootstrap intervals,
and the Friedman test with the Nemenyi critical difference. Pure functions of numbers: they know
nothing of methods or null maps (:mod:`salcheck.science.ranking` does).

- Aggregate: the interquartile mean (:func:`iqm`), the mean after trimming floor(n / 4) values
  from each end (Agarwal et al. 2021).
- Interval: :func:`stratified_interval` resamples the units of each stratum (a dataset's seeds)
  with replacement on its own and takes the statistic over the pooled resample (Efron &
  Tibshirani 1993); :class:`Resampling` holds the settings every interval shares.
- Ranks: R_j = (1/N) sum_i r_ij over N units; chi2_F = 12 N / (k (k+1)) [sum_j R_j^2 -
  k (k+1)^2 / 4], F_F = (N - 1) chi2_F / (N (k - 1) - chi2_F) (Iman & Davenport 1980), and two
  of k methods differ when |R_i - R_j| >= CD = q_alpha sqrt(k (k + 1) / (6 N)) (Demšar 2006;
  :func:`friedman_nemenyi`, :func:`critical_difference`).

Why the IQM, and why a percentile interval, with 5 seeds per dataset
-------------------------------------------------------------------
The IQM (scipy trims floor(n / 4) units from each end: the middle 9 of 15) is robust to one
diverged seed, as the median is, but averages many units rather than reading one order
statistic; with 3 x 5 units the
median's bootstrap distribution takes only a handful of values and its interval is coarse
(Agarwal et al. 2021 recommend the IQM for few runs). The percentile interval is used rather
than BCa: BCa's bias correction (the normal quantile of the share of resamples below the
estimate) and its jackknife acceleration are themselves estimated from 5 seeds per stratum, and
scipy's BCa returns NaN and warns on degenerate resamples. Simulated at this size
(``benchmarks/bench_interval_coverage.py``) nominal 95 % intervals cover about 89 %
(percentile) and 87 % (BCa), with normal or heavy-tailed noise: neither is exact, BCa is no
better. Read the intervals as the least uncertainty there is, not the most.

References: Demšar, J. (2006), Statistical comparisons of classifiers over multiple data sets,
JMLR 7:1-30. Agarwal, R. et al. (2021), Deep reinforcement learning at the edge of the
statistical precipice, NeurIPS. Efron, B. & Tibshirani, R. (1993), An introduction to the
bootstrap, Chapman & Hall (stratified resampling). Iman, R. & Davenport, J.
(1980), Approximations of the critical region of the Friedman statistic, Comm. Stat. 9:571-595.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from salcheck.errors import InvalidArgument, check_choice
from salcheck.rng import derive_seed

#: The interval methods of :func:`scipy.stats.bootstrap` that :func:`stratified_interval` accepts.
INTERVAL_METHODS = ("percentile", "basic", "BCa")
ALPHA = 0.05

Strata = Mapping[str, np.ndarray]  # dataset -> per-seed values


def iqm(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """Interquartile mean, ``scipy.stats.trim_mean(x, 0.25)``: the mean after cutting
    floor(n / 4) values from each end (the middle half when 4 divides n).

    Examples:
        >>> float(iqm([-100, 1, 2, 2.5, 3, 3.5, 4, 100]))
        2.75
    """
    return np.asarray(stats.trim_mean(x, 0.25, axis=axis))


def median(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """The median along ``axis``."""
    return np.asarray(np.median(np.asarray(x, float), axis=axis))


def mean(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """The mean along ``axis``."""
    return np.asarray(np.mean(np.asarray(x, float), axis=axis))


@dataclass(frozen=True)
class Interval:
    """An estimate and its two-sided confidence interval [low, high] at ``level``."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def excludes(self, value: float) -> bool:
        """True when ``value`` lies outside [low, high]."""
        return not self.low <= value <= self.high

    def format(
        self, digits: int = 2, signed: bool = True, undefined: str = "no finite value to aggregate"
    ) -> str:
        """``estimate [low, high]``; never ``nan``: an undefined estimate is the word
        *undefined* with ``undefined`` as its reason, undefined bounds (scipy's BCa on
        degenerate resamples) are said to be so beside the estimate.

        Examples:
            >>> Interval(0.5, 0.25, 0.75).format()
            '+0.50 [+0.25, +0.75]'
            >>> Interval(math.nan, math.nan, math.nan).format(undefined="a null scored 0")
            'undefined (a null scored 0)'
            >>> Interval(0.5, math.nan, math.nan).format(signed=False)
            '0.50 [interval undefined: the bootstrap gave no bounds]'
        """
        f = f"{{:{'+' if signed else ''}.{digits}f}}"
        if not math.isfinite(self.estimate):
            return f"undefined ({undefined})"
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return f"{f.format(self.estimate)} [interval undefined: the bootstrap gave no bounds]"
        return f"{f.format(self.estimate)} [{f.format(self.low)}, {f.format(self.high)}]"


@dataclass(frozen=True)
class Resampling:
    """How every interval is computed: ``n_resamples`` bootstrap resamples of the seeds within
    each dataset, a two-sided ``confidence`` interval by ``method``; each interval draws from
    its own generator, seeded by ``seed`` and the interval's name (:func:`salcheck.rng.derive_seed`),
    so adding a method never moves another method's interval."""

    seed: int = 0
    confidence: float = 0.95
    n_resamples: int = 9999
    method: str = "percentile"

    def __post_init__(self) -> None:
        check_choice("interval method", self.method, INTERVAL_METHODS)
        if not 0 < self.confidence < 1:
            msg = f"confidence must lie in (0, 1), got confidence={self.confidence!r}"
            raise InvalidArgument(msg)
        if self.n_resamples < 100:
            msg = f"n_resamples must be >= 100, got n_resamples={self.n_resamples!r}"
            raise InvalidArgument(msg)

    def options(self, *key: str) -> dict[str, Any]:
        """Keyword arguments of :func:`stratified_interval`, with the generator named by ``key``."""
        return {
            "seed": derive_seed(self.seed, "ranking", *key),  # renaming the stream moves every interval
            "confidence": self.confidence,
            "n_resamples": self.n_resamples,
            "method": self.method,
        }

    def interval(
        self, strata: Strata | Sequence[ArrayLike], statistic: Callable[..., np.ndarray], *key: str
    ) -> Interval:
        """:func:`stratified_interval` with these settings and the generator named by ``key``."""
        return stratified_interval(strata, statistic, **self.options(*key))


def stratified_interval(
    strata: Strata | Sequence[ArrayLike],
    statistic: Callable[..., np.ndarray] = iqm,
    *,
    seed: int | np.random.Generator,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    method: str = "percentile",
) -> Interval:
    """``statistic`` of the pooled units with a stratified bootstrap interval.

    Each stratum (a dataset's per-seed values) is resampled with replacement on its own, so
    every resample keeps n_d units of dataset d (Efron & Tibshirani 1993); the statistic
    is taken over the pooled resample. :func:`scipy.stats.bootstrap` does this when given one
    sample per stratum with ``paired=False``. Constant data get the interval [v, v].
    ``statistic(x, axis)`` must reduce along ``axis``.

    Examples:
        >>> ci = stratified_interval({"d1": [1.0, 2, 3, 4, 5], "d2": [2.0, 3, 4, 5, 6]}, seed=0)
        >>> round(ci.estimate, 2), ci.low < ci.estimate < ci.high
        (3.5, True)
    """
    check_choice("interval method", method, INTERVAL_METHODS)
    values = strata.values() if isinstance(strata, Mapping) else strata
    samples = [np.asarray(v, float) for v in values]
    if not samples or any(s.ndim != 1 or len(s) < 2 for s in samples):
        sizes = [s.shape for s in samples]
        msg = f"need at least one stratum of at least 2 values each, got shapes {sizes}"
        raise InvalidArgument(msg)
    pooled = np.concatenate(samples)
    if not np.all(np.isfinite(pooled)):
        msg = f"values must be finite, got {pooled[~np.isfinite(pooled)][0]!r}"
        raise InvalidArgument(msg)
    estimate = float(statistic(pooled, axis=-1))
    if np.all(pooled == pooled[0]):
        return Interval(estimate, estimate, estimate, confidence)

    def pooled_statistic(*s: np.ndarray, axis: int = -1) -> np.ndarray:
        return statistic(np.concatenate(s, axis=axis), axis=axis)

    ci = stats.bootstrap(
        samples,
        pooled_statistic,
        n_resamples=n_resamples,
        vectorized=True,
        paired=False,
        axis=-1,
        confidence_level=confidence,
        method=method,
        random_state=np.random.default_rng(seed) if isinstance(seed, int) else seed,
    ).confidence_interval
    return Interval(estimate, float(ci.low), float(ci.high), confidence)


# --- Friedman test and Nemenyi critical difference ---------------------------------------------


def critical_difference(k: int, n_units: int, alpha: float = ALPHA) -> float:
    """Nemenyi critical difference of average ranks (Demšar 2006, the Nemenyi test):

    CD = q_alpha sqrt(k (k + 1) / (6 N)), q_alpha = Q_{1-alpha}(k, inf) / sqrt(2), Q the
    studentized range (:data:`scipy.stats.studentized_range`); k methods, N units.

    Examples:
        Demšar's example, four classifiers on 14 data sets (q_0.05 = 2.569):

        >>> round(critical_difference(4, 14), 2)
        1.25
    """
    if k < 2 or n_units < 1:
        msg = f"need k >= 2 methods and N >= 1 units, got k={k!r}, N={n_units!r}"
        raise InvalidArgument(msg)
    if not 0 < alpha < 1:
        raise InvalidArgument(f"alpha must lie in (0, 1), got alpha={alpha!r}")
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n_units))


def cliques(mean_ranks: Mapping[str, float], cd: float) -> tuple[tuple[str, ...], ...]:
    """Maximal runs of methods (in mean-rank order) whose ranks span less than ``cd``: the
    groups a critical-difference diagram joins with a bar (no two members differ).

    Examples:
        >>> cliques({"a": 1.0, "b": 1.5, "c": 2.2, "d": 4.0}, cd=1.3)
        (('a', 'b', 'c'),)
    """
    names = sorted(mean_ranks, key=lambda m: mean_ranks[m])
    r = [mean_ranks[m] for m in names]
    out, reach = [], 0
    for i in range(len(names)):
        j = max(j for j in range(i, len(names)) if r[j] - r[i] < cd)
        if j > i and j > reach:
            out.append(tuple(names[i : j + 1]))
            reach = j
    return tuple(out)


@dataclass(frozen=True)
class Friedman:
    """The Friedman test over k methods on N units, and the Nemenyi critical difference."""

    mean_ranks: dict[str, float]  # R_j, lowest (best) first
    n_units: int
    statistic: float  # chi2_F, k - 1 degrees of freedom
    p_value: float
    iman_davenport: float  # F_F, (k - 1, (k - 1)(N - 1)) degrees of freedom
    p_iman_davenport: float
    alpha: float
    cd: float
    cliques: tuple[tuple[str, ...], ...]

    @property
    def k(self) -> int:
        return len(self.mean_ranks)


def average_ranks(unit_values: Mapping[str, ArrayLike]) -> dict[str, float]:
    """R_j = (1/N) sum_i r_ij, r_ij the rank of method j on unit i (1 = lowest value), lowest first."""
    names = list(unit_values)
    table = np.column_stack([np.asarray(unit_values[m], float) for m in names])
    R = stats.rankdata(table, axis=1).mean(axis=0)
    return dict(sorted(zip(names, map(float, R), strict=True), key=lambda t: t[1]))


def friedman_nemenyi(unit_values: Mapping[str, ArrayLike], alpha: float = ALPHA) -> Friedman:
    """Friedman test on ``unit_values`` (method -> one value per unit; lower is better) and the
    Nemenyi critical difference (Demšar 2006).

    chi2_F = 12 N / (k (k+1)) [sum_j R_j^2 - k (k+1)^2 / 4] (:func:`scipy.stats.friedmanchisquare`,
    tie-corrected); F_F = (N - 1) chi2_F / (N (k - 1) - chi2_F) ~ F(k - 1, (k - 1)(N - 1)), the
    Iman-Davenport statistic Demšar recommends (chi2_F is conservative). Two methods differ at
    ``alpha`` when |R_i - R_j| >= CD (:func:`critical_difference`).
    """
    k = len(unit_values)
    n = {len(np.atleast_1d(v)) for v in unit_values.values()}
    if k < 3 or len(n) != 1 or min(n) < 2:
        msg = f"need >= 3 methods with the same number (>= 2) of units, got {k} methods, units {n}"
        raise InvalidArgument(msg)
    N = n.pop()
    columns = [np.asarray(v, float) for v in unit_values.values()]
    if all(np.all(c == columns[0]) for c in columns):
        chi2, p = 0.0, 1.0  # every unit ties every method: no evidence of a difference
    else:
        chi2, p = (float(v) for v in stats.friedmanchisquare(*columns))
    denominator = N * (k - 1) - chi2
    F = (N - 1) * chi2 / denominator if denominator > 0 else math.inf
    p_F = float(stats.f.sf(F, k - 1, (k - 1) * (N - 1))) if math.isfinite(F) else 0.0
    R = average_ranks(unit_values)
    cd = critical_difference(k, N, alpha)
    return Friedman(R, N, chi2, p, F, p_F, alpha, cd, cliques(R, cd))

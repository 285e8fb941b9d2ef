"""Dose-response verdicts (issue 22): does a criterion rise with the number of atypical training
images n_atyp, and do two routes fall on one curve in n_atyp? Both read the curves of
:mod:`salcheck.science.dose_crossover` (one criterion per seed along one route, against its
level; e = f(x) - f(L) on the curve's scale f), which also finds where a curve crosses its level.

- :func:`trend_test`: Page's L test, seeds as blocks and points as treatments,
  L = sum_p p * sum_s r_sp with r_sp the rank of point p within seed s (Page 1963, JASA 58:216).
- :func:`routes_collapse`: does the count of atypical examples decide, rather than their share?
  An equivalence test with a stated margin delta: two one-sided tests of the mean route
  difference against -delta and +delta (TOST, Schuirmann 1987), each an exact sign-flip test
  (:func:`salcheck.science.stats.paired_test`).

Every verdict is three-way (replicated, contradicted, inconclusive) at ``alpha`` like the
findings'. Pure functions of arrays: no store, no training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from scipy import stats

from salcheck.errors import InvalidArgument
from salcheck.science.dose_crossover import DoseCurve
from salcheck.science.stats import ALPHA, paired_test

#: Default equivalence margins of :func:`routes_collapse`: a ratio on the log scale (the routes
#: agree within a factor 1.5), a difference on the difference scale (0.05, e.g. of accuracy).
COLLAPSE_MARGIN = {"log": 1.5, "difference": 0.05}


def _fail(msg: str) -> NoReturn:
    raise InvalidArgument(msg)


# ----------------------------------------------------------------------------------------------
# trend


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 0.5:
        _fail(f"alpha must lie in (0, 0.5), got alpha={alpha!r}")


def _outcome(p_forward: float, p_reverse: float, alpha: float) -> str:
    if p_forward < alpha:
        return "replicated"
    return "contradicted" if p_reverse < alpha else "inconclusive"


@dataclass(frozen=True)
class TrendVerdict:
    """Page's L test of a rise with n_atyp, three-way at ``alpha``."""

    claim: str
    outcome: str  # replicated (rises), contradicted (falls) or inconclusive
    statistic: float  # Page's L for the increasing order
    p_increasing: float
    p_decreasing: float  # the same test on the reversed order
    n_seeds: int
    n_points: int
    method: str  # scipy's: exact or asymptotic
    alpha: float = ALPHA

    @property
    def holds(self) -> bool:
        return self.outcome == "replicated"

    def message(self) -> str:
        return (
            f"{self.claim}: {self.outcome} at alpha {self.alpha:g} (Page's L = {self.statistic:g} "
            f"over {self.n_seeds} seeds x {self.n_points} points, {self.method}; "
            f"p = {self.p_increasing:.3g}, reverse p = {self.p_decreasing:.3g})"
        )


def trend_test(
    curve: DoseCurve, *, relative_to_level: bool = False, claim: str = "", alpha: float = ALPHA
) -> TrendVerdict:
    """Does the criterion rise with n_atyp? Page's L test, seeds as blocks, points as treatments.

    Within each seed the points are ranked (r_sp, 1..P); L = sum_p p * sum_s r_sp is large when
    the ranks rise in the order of n_atyp (Page 1963, JASA 58:216;
    :func:`scipy.stats.page_trend_test`, exact for small designs). The same test on the reversed
    order gives the reverse p. Replicated: p_increasing < alpha; contradicted: p_decreasing <
    alpha; else inconclusive. A rank test: a rise of every seed, not a difference of two points,
    and invariant to any increasing transform of the values (the log scale changes nothing).
    ``relative_to_level`` tests the exceedance e = f(x) - f(L) instead of the values.

    F2 on the curve: "with more data both subtypes are better represented" is this test
    replicated for b, b†, c and c† along the set-size route.

    Examples:
        >>> from salcheck.science.dose_crossover import dose_curve
        >>> c = dose_curve("size", [25, 50, 100], [[1, 2, 3], [1, 3, 4], [2, 2.5, 5]], 1.0)
        >>> trend_test(c).outcome
        'replicated'
    """
    _check_alpha(alpha)
    data = curve.exceedance() if relative_to_level else curve.values
    if data.shape[1] < 3:
        _fail(f"a trend needs >= 3 points, got {data.shape[1]} on route {curve.route!r}")
    up = stats.page_trend_test(data)
    down = stats.page_trend_test(data[:, ::-1])
    what = f"{curve.criterion} - {curve.level_name}" if relative_to_level else curve.criterion
    return TrendVerdict(
        claim or f"{what} rises with n_atyp on route {curve.route!r}",
        _outcome(float(up.pvalue), float(down.pvalue), alpha),
        float(up.statistic),
        float(up.pvalue),
        float(down.pvalue),
        curve.n_seeds,
        int(data.shape[1]),
        str(up.method),
        alpha,
    )


# ----------------------------------------------------------------------------------------------
# do the routes collapse onto one curve in n_atyp?


@dataclass(frozen=True)
class CollapseVerdict:
    """An equivalence test of two routes at matched n_atyp, three-way at ``alpha``."""

    claim: str
    outcome: str  # replicated (one curve), contradicted (the routes differ) or inconclusive
    scale: str
    margin: float  # delta on the curve's scale (log of the ratio margin, or a difference)
    matched_n: tuple[float, ...]
    mean: float  # mean over seeds of D_s (route a minus route b)
    low: float  # (1 - 2 alpha) interval of mean(D): equivalence iff inside (-margin, margin)
    high: float
    p_equivalent: float  # TOST: the larger of p(D > -margin) and p(D < margin)
    p_beyond: float  # the smaller of p(D > margin) and p(D < -margin)
    point_means: tuple[float, ...]  # mean route difference at each matched n
    point_p_beyond: tuple[float, ...]
    differ_at: tuple[float, ...]  # matched n whose difference lies beyond the margin (Bonferroni)
    n_seeds: int
    alpha: float = ALPHA

    @property
    def holds(self) -> bool:
        return self.outcome == "replicated"

    def message(self) -> str:
        where = f"; beyond the margin at n_atyp {list(self.differ_at)}" if self.differ_at else ""
        return (
            f"{self.claim}: {self.outcome} at alpha {self.alpha:g} (mean route difference "
            f"{self.mean:+.3f} on the {self.scale} scale, {1 - 2 * self.alpha:.0%} interval "
            f"[{self.low:+.3f}, {self.high:+.3f}] against margin ±{self.margin:.3f}; "
            f"equivalence p = {self.p_equivalent:.3g}, beyond-margin p = {self.p_beyond:.3g}; "
            f"{self.n_seeds} seeds, {len(self.matched_n)} matched points{where})"
        )


def _matched_points(a: DoseCurve, b: DoseCurve) -> np.ndarray:
    """Both routes' grid points inside the overlap of their n_atyp ranges."""
    lo, hi = max(a.n_atyp[0], b.n_atyp[0]), min(a.n_atyp[-1], b.n_atyp[-1])
    if lo > hi:
        _fail(
            f"routes {a.route!r} [{a.n_atyp[0]:g}, {a.n_atyp[-1]:g}] and {b.route!r} "
            f"[{b.n_atyp[0]:g}, {b.n_atyp[-1]:g}] share no range of n_atyp"
        )
    m = np.union1d(a.n_atyp, b.n_atyp)
    return m[(m >= lo) & (m <= hi)]


def route_differences(a: DoseCurve, b: DoseCurve) -> tuple[np.ndarray, np.ndarray]:
    """(matched n, d[s, j]): f(x_a) - f(x_b) at matched n_j for seed s, each route's seed curve
    interpolated linearly in log n (a route's own grid points are observed, not interpolated)."""
    m = _matched_points(a, b)
    fa, fb = a.on_scale(a.values), b.on_scale(b.values)
    la, lb, lm = np.log(a.n_atyp), np.log(b.n_atyp), np.log(m)
    d = np.array([np.interp(lm, la, fa[s]) - np.interp(lm, lb, fb[s]) for s in range(a.n_seeds)])
    return m, d


def _margin_tests(d: np.ndarray, delta: float) -> tuple[float, float]:
    """(TOST p, beyond-margin p) of mean(d) against ±delta, one-sided exact sign-flip tests
    (:func:`salcheck.science.stats.paired_test`)."""
    zero = [0.0] * len(d)
    minus = paired_test(d.tolist(), zero, claim="d > -delta", margin=-delta, scale="difference")
    plus = paired_test(d.tolist(), zero, claim="d > delta", margin=delta, scale="difference")
    p: Callable[[float | None], float] = lambda v: (
        1.0 if v is None else float(v)
    )  # an undecidable test decides nothing
    return (
        max(p(minus.p_forward), p(plus.p_reverse)),
        min(p(plus.p_forward), p(minus.p_reverse)),
    )


def _check_pair(a: DoseCurve, b: DoseCurve, margin: float) -> float:
    """delta on the curves' scale; raises on routes that cannot be compared."""
    if a.scale != b.scale:
        _fail(f"routes must share a scale, got {a.scale!r} and {b.scale!r}")
    if a.n_seeds != b.n_seeds or (a.seeds and b.seeds and a.seeds != b.seeds):
        _fail(f"routes must have the same seeds, got {a.seeds or a.n_seeds} and {b.seeds or b.n_seeds}")
    if a.scale == "log" and not margin > 1:
        _fail(f"margin on the log scale is a ratio > 1, got margin={margin!r}")
    if a.scale == "difference" and not margin > 0:
        _fail(f"margin on the difference scale must be > 0, got margin={margin!r}")
    return math.log(margin) if a.scale == "log" else float(margin)


def routes_collapse(
    a: DoseCurve, b: DoseCurve, *, margin: float | None = None, claim: str = "", alpha: float = ALPHA
) -> CollapseVerdict:
    """Do two routes fall on one curve in n_atyp? Equivalence at matched n, three-way.

    The claim: "the count of atypical examples, not their share, decides the criterion": at
    equal n_atyp the routes agree within a margin delta on the curve's scale (a ratio, default
    1.5, for log-scale criteria: less than one doubling of n_atyp changes b† at the poster's
    slope, 1.6 per doubling from 50 to 1,000 images). For each seed, D_s = mean_j d_sj, the
    route difference averaged over the matched points n_j (see :func:`route_differences`).

    - replicated (one curve): two one-sided tests (TOST, Schuirmann 1987) reject both
      mean(D) <= -delta and mean(D) >= delta at alpha, i.e. the (1 - 2 alpha) interval of
      mean(D) lies inside (-delta, delta); and no matched point is beyond the margin (below);
    - contradicted (the routes differ): mean(D) lies beyond the margin, one-sided at alpha, or
      at some matched point the difference does at alpha / m (Bonferroni over the m points;
      this catches routes that cross and average out);
    - inconclusive: neither; too few seeds or too noisy to tell.

    Why not a shared-versus-separate curve F-test or a permutation of route labels: failing to
    reject "one curve" is absence of evidence; a no-difference test says "collapse" more often
    the fewer seeds there are. TOST puts the burden of proof on the collapse. The tests are
    :func:`salcheck.science.stats.paired_test` on the difference scale (seeds are independent
    replicates, so D_s are i.i.d.). A false 'contradicted' has probability at most 2 alpha
    (the mean and the points each at alpha).

    Examples:
        >>> from salcheck.science.dose_crossover import dose_curve
        >>> n = [25, 50, 100, 200]
        >>> size = [[1.0, 2.0, 4.0, 8.0], [1.1, 2.1, 3.9, 8.2], [0.9, 1.9, 4.1, 7.9],
        ...         [1.0, 2.2, 4.0, 8.1], [1.05, 1.95, 3.8, 8.0]]
        >>> share = [[v * 1.1 for v in seed] for seed in size]  # 10% above: within a factor 1.5
        >>> curve = lambda route, x: dose_curve(route, n, x, 1.0)
        >>> routes_collapse(curve("size", size), curve("share", share)).outcome
        'replicated'
        >>> few = [curve(route, x[:3]) for route, x in (("size", size), ("share", share))]
        >>> three = routes_collapse(*few)
        >>> three.outcome, three.p_equivalent  # 3 seeds: the smallest exact sign-flip p is 1/8
        ('inconclusive', 0.125)
        >>> far = [[v * 3 for v in seed] for seed in size]  # a factor 3: beyond the margin
        >>> routes_collapse(curve("size", size), curve("share", far)).outcome
        'contradicted'
    """
    _check_alpha(alpha)
    margin = COLLAPSE_MARGIN[a.scale] if margin is None else margin
    delta = _check_pair(a, b, margin)
    m, d = route_differences(a, b)
    D = d.mean(axis=1)
    p_equiv, p_beyond = _margin_tests(D, delta)
    points = [_margin_tests(d[:, j], delta)[1] for j in range(len(m))]
    differ_at = tuple(float(n) for n, p in zip(m, points, strict=True) if p < alpha / len(m))
    outcome = "contradicted" if p_beyond < alpha or differ_at else _outcome(p_equiv, 1.0, alpha)
    mean, sd = float(D.mean()), float(D.std(ddof=1))
    half = float(stats.t.ppf(1 - alpha, len(D) - 1)) * sd / math.sqrt(len(D))
    within = f"a factor {margin:g}" if a.scale == "log" else f"{delta:g}"
    return CollapseVerdict(
        claim
        or (
            f"the count of atypical examples, not their share, decides {a.criterion}: routes "
            f"{a.route!r} and {b.route!r} agree within {within} over n_atyp {m[0]:g} to {m[-1]:g}"
        ),
        outcome,
        a.scale,
        delta,
        tuple(float(n) for n in m),
        mean,
        mean - half,
        mean + half,
        p_equiv,
        p_beyond,
        tuple(float(v) for v in d.mean(axis=0)),
        tuple(points),
        differ_at,
        len(D),
        alpha,
    )

"""Dose-response of a criterion against the number of atypical training images n_atyp (issue 22).

How many atypical examples does a subtype need before its saliency map shows it? A *route* is
a series of grid cells that changes n_atyp one way (the set size at a fixed mix, or the atypical
share at a fixed size); a :class:`DoseCurve` holds one criterion along one route: per seed and
per point the criterion's value x_sp, and the level it must exceed, L_sp (the best null map's
value on the same models, or a constant such as an accuracy of 0.8). Seeds pair the points.

On the curve's scale f (``log`` for ratio criteria such as b†, ``difference`` for a, accuracy,
as in :mod:`salcheck.science.stats`) the *exceedance* is e_sp = f(x_sp) - f(L_sp).

- :func:`crossover`: the smallest n_atyp at which the mean exceedance turns positive, read off
  a monotone (isotonic) fit interpolated linearly in log n_atyp, with a percentile bootstrap
  interval over seeds; a crossing outside the grid is censored ('< min', '> max'), never a number.
- :func:`trend_test`: does the criterion rise with n_atyp? Page's L test, seeds as blocks.
- :func:`routes_collapse`: do two routes fall on one curve in n_atyp (does the count of atypical
  examples decide, rather than their share)? An equivalence test with a stated margin.

Every verdict is three-way (replicated, contradicted, inconclusive) at ``alpha`` like the
findings'. Pure functions of arrays: no store, no training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NoReturn

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.optimize import isotonic_regression

from salcheck.errors import InvalidArgument, check_choice
from salcheck.rng import Seed, as_generator
from salcheck.science.stats import ALPHA, SCALES, paired_test

#: Default equivalence margins of :func:`routes_collapse`: a ratio on the log scale (the routes
#: agree within a factor 1.5), a difference on the difference scale (0.05, e.g. of accuracy).
COLLAPSE_MARGIN = {"log": 1.5, "difference": 0.05}


def _fail(msg: str) -> NoReturn:
    raise InvalidArgument(msg)


@dataclass(frozen=True, eq=False)
class DoseCurve:
    """One criterion along one route: ``values[s, p]`` at ``n_atyp[p]`` for seed s.

    ``level`` (the value to exceed) is a number, one per point, or one per (seed, point);
    it is broadcast to ``values``' shape. Points are sorted by n_atyp on construction.
    """

    route: str
    n_atyp: np.ndarray  # (P,) atypical training images, > 0, distinct
    values: np.ndarray  # (S, P) criterion per seed and point
    level: np.ndarray  # (S, P) level to exceed (best null map per seed, or a constant)
    scale: str = "log"  # log (ratio criteria: b, c, b†, c†) or difference (a, accuracy)
    criterion: str = "criterion"  # its name in claims and figures, e.g. "b†"
    level_name: str = "best null"  # the level's name in claims and figures
    seeds: tuple[int, ...] = field(default=())  # optional: the training seeds, in row order

    def __post_init__(self) -> None:
        check_choice("scale", self.scale, SCALES)
        n = np.asarray(self.n_atyp, float)
        x = np.asarray(self.values, float)
        if n.ndim != 1 or len(n) < 2 or not np.all(np.isfinite(n) & (n > 0)):
            _fail(f"n_atyp must be >= 2 positive finite numbers, got n_atyp={n.tolist()}")
        if len(np.unique(n)) != len(n):
            _fail(f"n_atyp must be distinct, got n_atyp={n.tolist()}")
        if x.ndim != 2 or x.shape[1] != len(n) or x.shape[0] < 2:
            _fail(f"values must be (seeds >= 2, {len(n)} points), got shape {x.shape}")
        try:
            lv = np.broadcast_to(np.asarray(self.level, float), x.shape).copy()
        except ValueError:
            _fail(f"level must be a number, {len(n)} values or shape {x.shape}, got {self.level!r}")
        for name, a in (("values", x), ("level", lv)):
            if not np.all(np.isfinite(a)) or (self.scale == "log" and not np.all(a > 0)):
                need = "positive and finite (log scale)" if self.scale == "log" else "finite"
                _fail(f"{name} of route {self.route!r} must be {need}, got {a.tolist()}")
        if self.seeds and len(self.seeds) != x.shape[0]:
            _fail(f"seeds must name the {x.shape[0]} rows of values, got seeds={self.seeds}")
        order = np.argsort(n, kind="stable")
        object.__setattr__(self, "n_atyp", n[order])
        object.__setattr__(self, "values", x[:, order])
        object.__setattr__(self, "level", lv[:, order])

    @property
    def n_seeds(self) -> int:
        return int(self.values.shape[0])

    def on_scale(self, a: np.ndarray) -> np.ndarray:
        """f(a): log for the log scale, the identity for the difference scale."""
        return np.log(a) if self.scale == "log" else np.asarray(a, float)

    def exceedance(self) -> np.ndarray:
        """e_sp = f(x_sp) - f(L_sp), shape (seeds, points)."""
        return self.on_scale(self.values) - self.on_scale(self.level)

    def with_point(self, n: float, values: ArrayLike, level: ArrayLike) -> DoseCurve:
        """This curve with one more point (e.g. a cell drawn between the grid's points)."""
        col = np.broadcast_to(np.asarray(level, float), (self.n_seeds,))
        return replace(
            self,
            n_atyp=np.append(self.n_atyp, float(n)),
            values=np.column_stack([self.values, np.asarray(values, float)]),
            level=np.column_stack([self.level, col]),
        )


def dose_curve(
    route: str,
    n_atyp: ArrayLike,
    values: ArrayLike,
    level: ArrayLike,
    *,
    scale: str = "log",
    criterion: str = "criterion",
    level_name: str = "best null",
    seeds: Sequence[int] = (),
) -> DoseCurve:
    """A checked :class:`DoseCurve` from array-likes; ``values[s][p]`` is seed s at point p.

    Examples:
        >>> c = dose_curve("share", [25, 50, 100], [[0.8, 1.2, 2.0], [0.9, 1.1, 2.2]], 1.0)
        >>> c.exceedance().shape
        (2, 3)
    """
    return DoseCurve(
        route,
        np.asarray(n_atyp, float),
        np.asarray(values, float),
        np.asarray(level, float),
        scale,
        criterion,
        level_name,
        tuple(int(s) for s in seeds),
    )


# ----------------------------------------------------------------------------------------------
# crossover


def _monotone_fit(mean_exceedance: np.ndarray) -> np.ndarray:
    """Isotonic (non-decreasing) least-squares fit, pool-adjacent-violators (scipy)."""
    return np.asarray(isotonic_regression(mean_exceedance, increasing=True).x, float)


def _first_crossing(log_n: np.ndarray, fitted: np.ndarray) -> float:
    """log n* where the monotone fit first exceeds 0, linear in log n between grid points.

    log n* = log n_{j-1} + (0 - g_{j-1}) / (g_j - g_{j-1}) (log n_j - log n_{j-1}) for the
    first j with g_j > 0; -inf when g_0 > 0 (already above), +inf when no g_j > 0 (never).
    """
    above = np.flatnonzero(fitted > 0)
    if len(above) == 0:
        return math.inf
    j = int(above[0])
    if j == 0:
        return -math.inf
    g0, g1 = fitted[j - 1], fitted[j]
    return float(log_n[j - 1] + (0.0 - g0) / (g1 - g0) * (log_n[j] - log_n[j - 1]))


def _to_n(log_n: float) -> float:
    return log_n if math.isinf(log_n) else math.exp(log_n)


@dataclass(frozen=True)
class Crossover:
    """Where the criterion's mean exceedance of its level turns positive along one route.

    ``estimate``, ``low`` and ``high`` are n_atyp values; ``-inf`` means "below the grid's
    smallest point" (already above there) and ``+inf`` "beyond its largest" (never above within
    the grid): censored, not numbers.
    """

    route: str
    criterion: str
    level_name: str
    estimate: float
    low: float  # percentile bootstrap interval over seeds
    high: float
    confidence: float
    n_min: float
    n_max: float
    fitted: tuple[float, ...]  # monotone fit of the mean exceedance at the grid points
    n_boot: int
    share_never: float  # share of bootstrap draws that never cross within the grid
    share_already: float  # share already above at the smallest point

    @property
    def censored(self) -> str | None:
        """``"above"`` ('> max'), ``"below"`` ('< min') or None (crosses inside the grid)."""
        if self.estimate == math.inf:
            return "above"
        return "below" if self.estimate == -math.inf else None

    def bound_text(self, n: float) -> str:
        if n == math.inf:
            return f"> {self.n_max:g}"
        return f"< {self.n_min:g}" if n == -math.inf else f"{n:.3g}"

    def message(self) -> str:
        head = f"{self.criterion} exceeds the {self.level_name} on route {self.route!r} from n_atyp"
        ci = f"{self.confidence:.0%} CI {self.bound_text(self.low)} to {self.bound_text(self.high)}"
        what = {
            "above": " (never within the grid)",
            "below": " (already at the smallest point)",
            None: "",
        }[self.censored]
        return f"{head} {self.bound_text(self.estimate)}{what}; {ci} ({self.n_boot} resamples of seeds)"


def exceedance_at(curve: DoseCurve, n: ArrayLike) -> np.ndarray:
    """The monotone fit of the mean exceedance at ``n``, linear in log n between grid points.

    Only inside the grid (to a relative 1e-9): no extrapolation. Positive exactly where
    n > the crossover.

    Examples:
        >>> c = dose_curve("size", [10, 100], [[-1.0, 1.0], [-1.0, 1.0]], 0.0, scale="difference")
        >>> exceedance_at(c, [10, 100]).tolist()
        [-1.0, 1.0]
        >>> bool(abs(exceedance_at(c, math.sqrt(10 * 100))) < 1e-12)  # halfway on log n
        True
    """
    x = np.asarray(n, float)
    lo, hi = curve.n_atyp[0], curve.n_atyp[-1]
    if not np.all((x >= lo * (1 - 1e-9)) & (x <= hi * (1 + 1e-9))):
        _fail(f"n must lie within the grid [{lo:g}, {hi:g}] of route {curve.route!r}, got {x.tolist()}")
    fitted = _monotone_fit(curve.exceedance().mean(axis=0))
    return np.interp(np.log(x), np.log(curve.n_atyp), fitted)


def crossover(
    curve: DoseCurve, *, confidence: float = 0.95, n_boot: int = 4000, seed: Seed = 0
) -> Crossover:
    """The smallest n_atyp at which the criterion exceeds its level, with a bootstrap interval.

    Estimate: the mean exceedance over seeds, ē_p, is fitted by isotonic regression
    (pool-adjacent-violators, Barlow et al. 1972; :func:`scipy.optimize.isotonic_regression`)
    and the fit is interpolated linearly in log n_atyp; n* is where it first exceeds 0.
    Interval: seeds are resampled with replacement (rows of e, so a seed's points stay
    together), n* is recomputed on each resample, and order statistics of the draws bound it:
    the expanded percentile interval (Hesterberg 2015, Am. Stat. 69:371), which takes the
    tails at alpha' = Phi(-sqrt(S / (S - 1)) t_{(1 + confidence) / 2, S - 1}) instead of
    (1 - confidence) / 2 to undo the plain percentile interval's narrowness with few seeds S
    (in simulation with 5 seeds and 7 points: 82 % coverage plain, 92 % expanded, at 95 %).
    Draws that never cross count as +inf and those already above at the smallest point as
    -inf, so a censored bound reads '> max' or '< min'.

    Why this fit and not a 4-parameter log-logistic: with ~5 seeds and 6-7 points, four
    parameters leave 2-3 degrees of freedom on the means; the fit fails or runs to an unbounded
    plateau on many resamples (and dropping those biases the interval), and its sigmoid shape
    cannot be checked at that resolution. Monotonicity is the only assumption needed (and
    :func:`trend_test` tests it); the price is no extrapolation beyond the grid, which is
    reported as censored instead. The bootstrap is hand-written because
    :func:`scipy.stats.bootstrap` cannot take the infinite (censored) draws. With 5 seeds
    there are only 126 distinct resamples: read the interval as the grid's resolution.

    Examples:
        >>> c = dose_curve("size", [25, 50, 100, 200], [[0.5, 0.8, 1.5, 3.0], [0.6, 0.9, 1.3, 2.5]], 1.0)
        >>> x = crossover(c, n_boot=200)
        >>> 50 < x.estimate < 100 and x.censored is None
        True
    """
    if not 0 < confidence < 1:
        _fail(f"confidence must lie in (0, 1), got confidence={confidence!r}")
    if not (isinstance(n_boot, int) and n_boot >= 100):
        _fail(f"n_boot must be an int >= 100, got n_boot={n_boot!r}")
    e, log_n = curve.exceedance(), np.log(curve.n_atyp)
    fitted = _monotone_fit(e.mean(axis=0))
    rng = as_generator(seed)
    rows = rng.integers(0, curve.n_seeds, size=(n_boot, curve.n_seeds))
    means = e[rows].mean(axis=1)  # (n_boot, points)
    draws = np.array([_first_crossing(log_n, _monotone_fit(m)) for m in means])
    S = curve.n_seeds
    tail = float(stats.norm.sf(math.sqrt(S / (S - 1)) * stats.t.ppf((1 + confidence) / 2, S - 1)))
    low, high = np.quantile(draws, [tail, 1 - tail], method="inverted_cdf")
    return Crossover(
        curve.route,
        curve.criterion,
        curve.level_name,
        _to_n(_first_crossing(log_n, fitted)),
        _to_n(float(low)),
        _to_n(float(high)),
        confidence,
        float(curve.n_atyp[0]),
        float(curve.n_atyp[-1]),
        tuple(float(g) for g in fitted),
        n_boot,
        float(np.mean(draws == math.inf)),
        float(np.mean(draws == -math.inf)),
    )


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

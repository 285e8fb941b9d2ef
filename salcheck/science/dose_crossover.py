"""Where a criterion's dose-response curve crosses its level: the number of atypical training
images n_atyp a subtype needs before its saliency map shows it (issue 22).

A *route* is a series of grid cells that changes n_atyp one way (the set size at a fixed mix, or
the atypical share at a fixed size); a :class:`DoseCurve` holds one criterion along one route:
per seed and per point the criterion's value x_sp, and the level it must exceed, L_sp (the best
null map's value on the same models, or a constant such as an accuracy of 0.8). Seeds pair the
points. On the curve's scale f (``log`` for ratio criteria such as b†, ``difference`` for a,
accuracy, as in :mod:`salcheck.science.stats`) the *exceedance* is e_sp = f(x_sp) - f(L_sp).

:func:`crossover`: the smallest n_atyp at which the mean exceedance turns positive, read off a
monotone (isotonic) fit interpolated linearly in log n_atyp (Barlow et al. 1972), with an
expanded percentile bootstrap interval over seeds (Hesterberg 2015, Am. Stat. 69:371); a
crossing outside the grid is censored ('< min', '> max'), never a number. The tests on the
curves (a trend in n_atyp, routes collapsing onto one curve) are :mod:`salcheck.science.dose`.
Pure functions of arrays: no store, no training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NoReturn

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.optimize import isotonic_regression

from salcheck.errors import InvalidArgument, check_choice
from salcheck.rng import Seed, as_generator
from salcheck.science.stats import SCALES


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

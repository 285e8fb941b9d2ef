"""Decision rules for findings: statistics over training seeds, never a single run.

One rule serves every comparative finding (:func:`paired_test`). With one pair of values per
training seed, d_s = f(x_s) - f(y_s) - f(margin), where f = log for ratio criteria (b, c, ...)
and f = identity for differences (a, a rank correlation, a threshold). Two one-sided paired
t-tests on mean(d) give the three-way verdict at ``alpha`` (0.05):

- replicated: mean(d) > 0 (the finding's direction) at p_forward < alpha;
- contradicted: mean(d) < 0 at p_reverse < alpha;
- inconclusive: neither.

Each verdict carries its effect size (d_z = mean / sd of d) and the number of seeds that would
give 80% power to the one-sided test at the observed effect (noncentral t).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from salcheck.errors import InvalidArgument

ALPHA = 0.05
OUTCOMES = ("replicated", "contradicted", "inconclusive", "undecidable")
SCALES = ("log", "difference")


@dataclass(frozen=True)
class Verdict:
    """The outcome of the decision rule, with the numbers that decided it."""

    claim: str
    outcome: str  # replicated, contradicted or inconclusive
    n: int  # seeds
    k: int  # seeds on which the claim holds individually (d_s > 0)
    scale: str  # log or difference
    mean: float  # mean of d
    sd: float  # sd of d (ddof 1)
    effect_size: float  # mean / sd (d_z); +inf when sd = 0 and mean > 0
    p_forward: float  # one-sided p of mean(d) > 0
    p_reverse: float  # one-sided p of mean(d) < 0
    lower_bound: float  # one-sided (1 - alpha) lower confidence bound of mean(d)
    seeds_for_power: int | None  # seeds for 80% power at the observed effect; None if <= 0
    x: tuple[float, ...]
    y: tuple[float, ...]
    alpha: float = ALPHA
    reason: str | None = None  # why a comparison is undecidable

    @property
    def holds(self) -> bool:
        return self.outcome == "replicated"

    def message(self) -> str:
        fmt = lambda v: ", ".join(f"{a:.3g}" for a in v)
        power = (
            f"{self.seeds_for_power} seeds would give 80% power at this effect"
            if self.seeds_for_power
            else "no power in the finding's direction"
        )
        what = "mean log ratio" if self.scale == "log" else "mean difference"
        return (
            f"{self.claim}: {self.outcome} at alpha {self.alpha:g} (holds on {self.k} of "
            f"{self.n} seeds; {what} {self.mean:+.3f}, effect size {self.effect_size:+.2f}, "
            f"p = {self.p_forward:.3g}, reverse p = {self.p_reverse:.3g}; {power}); "
            f"x = [{fmt(self.x)}], y = [{fmt(self.y)}]"
        )


def paired_test(
    x: Sequence[float],
    y: Sequence[float],
    *,
    claim: str,
    margin: float = 1.0,
    scale: str = "log",
    alpha: float = ALPHA,
) -> Verdict:
    """Does x exceed y (times ``margin`` on the log scale, plus it on the difference scale)?"""
    if scale not in SCALES:
        msg = f"scale must be one of {SCALES}, got scale={scale!r}"
        raise InvalidArgument(msg)
    if not 0 < alpha < 0.5:
        msg = f"alpha must lie in (0, 0.5), got alpha={alpha!r}"
        raise InvalidArgument(msg)
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    if xa.shape != ya.shape or xa.ndim != 1 or len(xa) < 2:
        msg = f"need two equal-length sequences of at least 2 seeds, got {len(xa)} and {len(ya)}"
        raise InvalidArgument(msg)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(xa) - np.log(ya) - math.log(margin) if scale == "log" else xa - ya - margin
    n, k = len(d), int(np.sum(d > 0))
    nan = float("nan")
    if not np.all(np.isfinite(d)):
        return Verdict(
            claim,
            "inconclusive",
            n,
            k,
            scale,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            None,
            tuple(xa),
            tuple(ya),
            alpha,
        )
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        p_fwd = 0.0 if mean > 0 else 1.0
        p_rev = 0.0 if mean < 0 else 1.0
        lower, effect = mean, math.copysign(math.inf, mean) if mean else 0.0
    else:
        se = sd / math.sqrt(n)
        p_fwd = float(stats.t.sf(mean / se, n - 1))
        p_rev = float(stats.t.cdf(mean / se, n - 1))
        lower = mean - float(stats.t.ppf(1 - alpha, n - 1)) * se
        effect = mean / sd
    outcome = "replicated" if p_fwd < alpha else "contradicted" if p_rev < alpha else "inconclusive"
    return Verdict(
        claim,
        outcome,
        n,
        k,
        scale,
        mean,
        sd,
        effect,
        p_fwd,
        p_rev,
        lower,
        seeds_for_power(effect, alpha),
        tuple(xa),
        tuple(ya),
        alpha,
    )


def seeds_for_power(
    effect: float, alpha: float = ALPHA, power: float = 0.8, max_seeds: int = 10_000
) -> int | None:
    """Smallest n >= 2 at which the one-sided paired t-test reaches ``power`` for effect d_z.

    Power(n) = P(T' > t_{1-alpha, n-1}) with T' noncentral t (df n - 1, nc d_z sqrt(n)).
    None when the effect is not positive (or needs more than ``max_seeds``).
    """
    if not effect > 0:
        return None
    if math.isinf(effect):
        return 2
    lo, hi = 2, max_seeds
    if _power(hi, effect, alpha) < power:
        return None
    while lo < hi:  # power grows with n
        mid = (lo + hi) // 2
        if _power(mid, effect, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _power(n: int, effect: float, alpha: float) -> float:
    crit = stats.t.ppf(1 - alpha, n - 1)
    return float(stats.nct.sf(crit, n - 1, effect * math.sqrt(n)))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order; NaN stays NaN."""
    p = np.asarray(p_values, float)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok):
        order = ok[np.argsort(p[ok])]
        m = len(order)
        ranked = p[order] * m / np.arange(1, m + 1)
        q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q.tolist()


def undecidable(claim: str, reason: str, x: Sequence[float] = (), y: Sequence[float] = ()) -> Verdict:
    """The verdict of a comparison its evidence cannot decide (a model that did not learn, or
    stopped at the cap while still improving), with the reason."""
    nan = float("nan")
    return Verdict(
        claim,
        "undecidable",
        len(x),
        0,
        "log",
        nan,
        nan,
        nan,
        nan,
        nan,
        nan,
        None,
        tuple(x),
        tuple(y),
        reason=reason,
    )

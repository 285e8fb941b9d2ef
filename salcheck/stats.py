"""Decision rules for findings: statistics over training seeds, never a single run.

The rule used by every comparative finding (:func:`paired_greater`): with one pair of values
per training seed, d_s = log x_s - log y_s - log(margin); the claim "x exceeds y (by the
factor ``margin``)" holds when the one-sided paired t-test of mean(d) > 0 gives p < alpha
(0.05), i.e. when the lower (1 - alpha) confidence bound of mean(d) is above 0. Ratios are
compared on the log scale because the criteria are ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Verdict:
    """The outcome of a decision rule, with the numbers that decided it."""

    holds: bool
    claim: str
    n: int
    k: int  # seeds on which the claim holds individually
    mean_log_diff: float
    lower_bound: float
    p_value: float
    x: tuple[float, ...]
    y: tuple[float, ...]

    def message(self) -> str:
        fmt = lambda v: ", ".join(f"{a:.3g}" for a in v)
        return (f"{self.claim}: {'holds' if self.holds else 'does not hold'} on the evidence "
                f"(holds on {self.k} of {self.n} seeds; mean log ratio {self.mean_log_diff:+.3f},"
                f" one-sided 95% lower bound {self.lower_bound:+.3f}, p = {self.p_value:.3g}); "
                f"x = [{fmt(self.x)}], y = [{fmt(self.y)}]")


def paired_greater(x: Sequence[float], y: Sequence[float], *, claim: str, margin: float = 1.0,
                   alpha: float = 0.05) -> Verdict:
    """Does x exceed margin * y, paired by seed? One-sided paired t-test on log ratios."""
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    if xa.shape != ya.shape or xa.ndim != 1 or len(xa) < 2:
        msg = f"need two equal-length sequences of at least 2 seeds, got {len(xa)} and {len(ya)}"
        raise ValueError(msg)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(xa) - np.log(ya) - math.log(margin)
    n, k = len(d), int(np.sum(d > 0))
    if not np.all(np.isfinite(d)):
        return Verdict(False, claim, n, k, float("nan"), float("nan"), float("nan"),
                       tuple(xa), tuple(ya))
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        p = 0.0 if mean > 0 else 1.0
        lower = mean
    else:
        se = sd / math.sqrt(n)
        p = float(stats.t.sf(mean / se, n - 1))
        lower = mean - float(stats.t.ppf(1 - alpha, n - 1)) * se
    return Verdict(p < alpha, claim, n, k, mean, lower, p, tuple(xa), tuple(ya))

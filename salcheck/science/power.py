"""How many of a family's signs Benjamini-Hochberg would keep at n seeds: a power simulation of
the exact sign-flip test at the effect sizes observed.

Model: sign i's per-seed differences are d_s ~ Normal(e_i, 1), independent over seeds, with e_i
its observed effect size d_z (mean / sd of its own test, :func:`effect_of`; an effect of zero
spread is judged at :data:`~salcheck.science.stats.EFFECT_CAP`, an undecidable or non-positive
one as no effect). Each
draw decides every sign by the exact one-sided sign-flip test (all 2^n sign patterns, as
:func:`~salcheck.science.stats.sign_flip_p`), applies BH at ``alpha`` over the family
(:func:`~salcheck.science.stats.benjamini_hochberg`), and counts the signs kept. Observed effect
sizes of the signs that look strongest overstate their true effects (selection), so the counts
are an upper guide, not a promise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from salcheck.errors import InvalidArgument
from salcheck.science.stats import ALPHA, EFFECT_CAP, MAX_EXACT_SEEDS, Verdict, benjamini_hochberg

#: Differences decided at once by :func:`exact_p` (bounds memory: 2^n x this many sums).
_CHUNK = 256


@dataclass(frozen=True)
class BHPower:
    """Signs kept after BH at ``seeds`` seeds, over ``draws`` simulated studies."""

    seeds: int
    draws: int
    mean_kept: float  # signs kept, of those with a positive effect in the model
    low: int  # 10th percentile of those kept
    high: int  # 90th percentile
    with_effect: int  # signs with a positive observed effect (the most BH could keep truly)
    mean_false: float  # signs kept whose effect in the model is 0 (false discoveries)


def exact_p(d: np.ndarray) -> np.ndarray:
    """Exact one-sided sign-flip p of mean > 0 for each row of ``d`` ([m, n]): the share of the
    2^n sign patterns whose signed sum of |d| reaches the observed sum (ties within 1e-12 of
    the row's magnitude count, as in scipy's test)."""
    d = np.atleast_2d(np.asarray(d, float))
    n = d.shape[1]
    if not 1 <= n <= MAX_EXACT_SEEDS:
        raise InvalidArgument(f"the exact sign-flip test takes 1 to {MAX_EXACT_SEEDS} seeds, got {n}")
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))  # [2^n, n]
    out = np.empty(len(d))
    for i in range(0, len(d), _CHUNK):
        part = d[i : i + _CHUNK]
        sums = signs @ np.abs(part).T  # [2^n, chunk]
        observed = part.sum(axis=1)
        tol = 1e-12 * np.maximum(1.0, np.abs(part).sum(axis=1))
        out[i : i + _CHUNK] = (sums >= observed - tol).mean(axis=0)
    return out


def effect_of(v: Verdict) -> float:
    """The effect size a verdict's own test observed, as :func:`bh_power` draws it: d_z; the
    cap when every seed gives one positive difference (sd 0); 0 when undecidable or none."""
    if v.outcome == "undecidable" or v.mean is None or not v.mean > 0:
        return 0.0
    if v.effect_size is None:  # sd 0 and a positive mean
        return EFFECT_CAP
    return min(max(v.effect_size, 0.0), EFFECT_CAP)


def bh_power(
    effects: Sequence[float],
    seeds: Sequence[int],
    *,
    draws: int = 100,
    alpha: float = ALPHA,
    rng: np.random.Generator,
) -> list[BHPower]:
    """For each n in ``seeds``: the signs BH keeps at ``alpha`` over ``draws`` simulated
    studies of the family whose observed effect sizes are ``effects`` (module docstring).

    Examples:
        >>> rows = bh_power([3.0] * 10 + [0.0] * 10, [5, 10], draws=20, rng=np.random.default_rng(0))
        >>> [(r.seeds, r.mean_kept, r.with_effect) for r in rows]  # BH needs p <= 0.05 x 10/20
        [(5, 0.0, 10), (10, 10.0, 10)]
    """
    if draws < 1:
        raise InvalidArgument(f"draws must be >= 1, got {draws}")
    e = np.array([min(x, EFFECT_CAP) if math.isfinite(x) and x > 0 else 0.0 for x in effects])
    rows = []
    for n in seeds:
        kept, false = [], []
        for _ in range(draws):
            d = rng.normal(e[:, None], 1.0, size=(len(e), n))
            found = np.asarray(benjamini_hochberg(exact_p(d).tolist())) < alpha
            kept.append(int((found & (e > 0)).sum()))
            false.append(int((found & (e == 0)).sum()))
        rows.append(
            BHPower(
                n,
                draws,
                float(np.mean(kept)),
                int(np.percentile(kept, 10)),
                int(np.percentile(kept, 90)),
                int((e > 0).sum()),
                float(np.mean(false)),
            )
        )
    return rows

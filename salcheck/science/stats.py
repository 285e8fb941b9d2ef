"""Decision rules for findings: statistics over training seeds, never a single run.

One rule serves every comparative finding (:func:`paired_test`). With one pair of values per
training seed, d_s = f(x_s) - f(y_s) - f(margin), where f = log for ratio criteria (b, c, ...)
and f = identity for differences (a, a rank correlation, a threshold).

The test that decides is the exact paired sign-flip (permutation) test on mean(d)
(``scipy.stats.permutation_test``, one sample, ``permutation_type='samples'``, every one of the
2^n sign patterns): under the null, each d_s is symmetric about 0, so its sign is a fair coin
and p = #{patterns s: mean(s * |d|) >= mean(d)} / 2^n (Fisher 1935; Good 2005, ch. 3). The
three-way verdict at ``alpha`` (0.05):

- replicated: p_forward < alpha (mean(d) > 0, the finding's direction);
- contradicted: p_reverse < alpha (mean(d) < 0);
- inconclusive: neither;
- undecidable: the comparison cannot be decided on these numbers (a value makes d non-finite,
  or the caller says why, e.g. a cell that did not learn): see :func:`undecidable`.

Why the exact test decides and the t-test does not: with the few seeds a study can train (5
here) nothing can check the t-test's normality of d, a zero spread gives it p = 0, and one
wild seed moves it far. The sign-flip test assumes only that d is symmetric under the null;
its p is exact at any n and never below 2^-n (1/32 with 5 seeds, so with 5 seeds a finding
replicates at 0.05 only when every seed agrees; with 4 or fewer seeds nothing can replicate,
and the verdict says so). The one-sided paired t-test's p stays beside it as information.

Effect size: d_z = mean(d) / sd(d), undefined (None) when sd = 0 (or within float noise of
0, :data:`SPREAD_NOISE`): every seed gives the same difference, which the exact test still
judges (its p is then 2^-n). Seeds for 80% power: see
:func:`seeds_for_power` for the model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from salcheck.errors import InvalidArgument

ALPHA = 0.05
OUTCOMES = ("replicated", "contradicted", "inconclusive", "undecidable")
SCALES = ("log", "difference")
#: The exact test enumerates 2^n sign patterns; beyond 16 seeds (65,536) it is too slow here.
MAX_EXACT_SEEDS = 16
#: A spread below this times the magnitude of the logs (or values) compared is float noise: 0.
SPREAD_NOISE = 1e-12
#: Power grows with d_z; a larger effect is judged at this one (the noncentral t gives NaN
#: from a noncentrality of about 1e10).
EFFECT_CAP = 1e6
#: The power search's bound: "more than MAX_POWER_SEEDS" beyond it.
MAX_POWER_SEEDS = 1000


@dataclass(frozen=True)
class SeedsNeeded:
    """Seeds for a target power: ``seeds`` when found, else None and ``text`` says why."""

    seeds: int | None
    text: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of the decision rule, with the numbers that decided it.

    The numbers are None where they are undefined: every number of an undecidable verdict on
    non-finite values, the effect size and the t-test's p when sd = 0.
    """

    claim: str
    outcome: str  # one of OUTCOMES
    n: int  # seeds
    k: int  # seeds on which the claim holds individually (d_s > 0)
    scale: str  # log or difference
    mean: float | None  # mean of d
    sd: float | None  # sd of d (ddof 1)
    effect_size: float | None  # d_z = mean / sd; None when sd = 0
    p_forward: float | None  # exact sign-flip p of mean(d) > 0: decides
    p_reverse: float | None  # exact sign-flip p of mean(d) < 0: decides
    t_p_forward: float | None  # one-sided paired t-test, information only; None when sd = 0
    t_p_reverse: float | None
    power: SeedsNeeded  # seeds for 80% power at the observed effect
    x: tuple[float, ...]
    y: tuple[float, ...]
    alpha: float = ALPHA
    reason: str = ""  # why an undecidable verdict is undecidable
    test: str = "the exact sign-flip test"  # what p_forward and p_reverse are the p of

    @property
    def holds(self) -> bool:
        return self.outcome == "replicated"

    @property
    def seeds_for_power(self) -> int | None:
        return self.power.seeds

    def digest(self) -> str:
        """A fingerprint of the values decided on (x, y, bit for bit): equal digests on the
        same seeds mean the same numbers were re-read."""
        text = ";".join(",".join(float(v).hex() for v in vals) for vals in (self.x, self.y))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def message(self) -> str:
        fmt: Callable[[Sequence[float]], str] = lambda v: ", ".join(f"{a:.3g}" for a in v)
        values = f"x = [{fmt(self.x)}], y = [{fmt(self.y)}]"
        if self.outcome == "undecidable":
            return f"{self.claim}: undecidable ({self.reason}); {values}"
        what = "mean log ratio" if self.scale == "log" else "mean difference"
        return (
            f"{self.claim}: {self.outcome} at alpha {self.alpha:g} by {self.test} "
            f"(holds on {self.k} of {self.n} seeds; {what} {_num(self.mean, '+.3f')}, effect size "
            f"{effect_text(self.effect_size)}, p = {p_text(self.p_forward, self.n)}, reverse p = "
            f"{p_text(self.p_reverse, self.n)}{_floor_note(self.n, self.alpha)}; t-test p = "
            f"{_num(self.t_p_forward, '.3g')}; seeds for 80% power: {self.power.text}); {values}"
        )


def _num(v: float | None, spec: str) -> str:
    return "undefined" if v is None else format(v, spec)


def effect_text(effect: float | None) -> str:
    """d_z as printed; "undefined (zero spread)" when sd = 0."""
    return "undefined (zero spread)" if effect is None else f"{effect:+.2f}"


def p_text(p: float | None, n: int) -> str:
    """An exact p with its count of sign patterns, e.g. ``0.0312 (1/32)``.

    Examples:
        >>> p_text(1 / 32, 5)
        '0.0312 (1/32)'
    """
    if p is None:
        return "–"
    count = p * 2**n
    exact = n <= MAX_EXACT_SEEDS and abs(count - round(count)) < 1e-6
    return f"{p:.3g} ({round(count)}/{2**n})" if exact else f"{p:.3g}"


def least_p(n: int) -> float:
    """The smallest p the exact sign-flip test can give with n seeds: 2^-n."""
    return 2.0**-n


def _floor_note(n: int, alpha: float) -> str:
    if least_p(n) < alpha:
        return ""
    return f"; with {n} seeds the exact test cannot reach alpha (least p = 1/{2**n})"


def _check(scale: str, alpha: float, margin: float, xa: np.ndarray, ya: np.ndarray) -> None:
    if scale not in SCALES:
        msg = f"scale must be one of {SCALES}, got scale={scale!r}"
        raise InvalidArgument(msg)
    if scale == "log" and not margin > 0:
        msg = f"a margin on the log scale must be > 0, got margin={margin!r}"
        raise InvalidArgument(msg)
    if not 0 < alpha < 0.5:
        msg = f"alpha must lie in (0, 0.5), got alpha={alpha!r}"
        raise InvalidArgument(msg)
    if xa.shape != ya.shape or xa.ndim != 1 or len(xa) < 2:
        msg = f"need two equal-length sequences of at least 2 seeds, got {len(xa)} and {len(ya)}"
        raise InvalidArgument(msg)
    if len(xa) > MAX_EXACT_SEEDS:
        msg = (
            f"the exact sign-flip test takes 2 to {MAX_EXACT_SEEDS} seeds (2^n sign patterns), "
            f"got {len(xa)}"
        )
        raise InvalidArgument(msg)


def _differences(xa: np.ndarray, ya: np.ndarray, margin: float, scale: str) -> tuple[np.ndarray, float]:
    """d per seed, and the magnitude of the terms it was computed from (for :func:`_spread`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "log":
            terms = (np.log(xa), np.log(ya), np.array([math.log(margin)]))
        else:
            terms = (xa, ya, np.array([margin]))
        d = terms[0] - terms[1] - terms[2]
        magnitude = max(1.0, *(float(np.max(np.abs(t))) for t in terms))
    return d, magnitude


def _spread(d: np.ndarray, magnitude: float) -> float:
    """sd of d (ddof 1); 0 when it is below float noise, SPREAD_NOISE times the terms'
    magnitude (d = log(2.02) - log(1.01) on every seed differs in its last bits)."""
    sd = float(d.std(ddof=1))
    return 0.0 if sd <= SPREAD_NOISE * magnitude else sd


def sign_flip_p(d: npt.ArrayLike, alternative: str = "greater") -> float:
    """Exact one-sided p of the paired sign-flip test on mean(d) (all 2^n sign patterns).

    Ties count with scipy's relative tolerance (100 eps of the observed mean), so a mean of
    exactly 0 may miss some ties: p moves only near 0.5, far from any alpha.

    Examples:
        >>> sign_flip_p([0.3, 0.1, 0.2, 0.4, 0.5])
        0.03125
        >>> sign_flip_p([0.3, 0.1, 0.2, 0.4, -0.05])
        0.0625
    """
    res = stats.permutation_test(
        (np.asarray(d, float),),
        lambda s, axis: np.mean(s, axis=axis),
        permutation_type="samples",
        n_resamples=np.inf,
        alternative=alternative,
        vectorized=True,
    )
    return float(res.pvalue)


def paired_test(
    x: Sequence[float],
    y: Sequence[float],
    *,
    claim: str,
    margin: float = 1.0,
    scale: str = "log",
    alpha: float = ALPHA,
) -> Verdict:
    """Does x exceed y (times ``margin`` on the log scale, plus it on the difference scale)?

    Decided by the exact sign-flip test on d (module docstring); a non-finite d (a log of a
    value <= 0) is undecidable, with the seeds that gave it.

    Examples:
        >>> paired_test([12, 9, 15, 11, 7], [2, 3, 1.5, 2.5, 4], claim="x > y").outcome
        'replicated'
    """
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    _check(scale, alpha, margin, xa, ya)
    d, magnitude = _differences(xa, ya, margin, scale)
    if not np.all(np.isfinite(d)):
        bad = [i for i in range(len(d)) if not np.isfinite(d[i])]
        why = f"non-finite difference at seed position(s) {bad}" + (
            " (log of a value <= 0)" if scale == "log" else ""
        )
        return undecidable(claim, why, xa, ya, alpha=alpha)
    n, k = len(d), int(np.sum(d > 0))
    mean, sd = float(d.mean()), _spread(d, magnitude)
    p_fwd, p_rev = sign_flip_p(d, "greater"), sign_flip_p(d, "less")
    effect = mean / sd if sd > 0 else None
    t_fwd = t_rev = None
    if sd > 0:
        t = mean / (sd / math.sqrt(n))
        t_fwd, t_rev = float(stats.t.sf(t, n - 1)), float(stats.t.cdf(t, n - 1))
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
        t_fwd,
        t_rev,
        seeds_for_power(effect, alpha),
        tuple(float(v) for v in xa),
        tuple(float(v) for v in ya),
        alpha,
    )


def undecidable(
    claim: str, reason: str, x: npt.ArrayLike, y: npt.ArrayLike, *, alpha: float = ALPHA
) -> Verdict:
    """A verdict that decides nothing, and says why (``reason``); the values are kept.

    Examples:
        >>> v = undecidable("b > b†", "the cell did not learn", [1.0, 1.1], [1.0, 0.9])
        >>> v.outcome, v.holds, v.p_forward
        ('undecidable', False, None)
    """
    if not reason.strip():
        raise InvalidArgument("an undecidable verdict needs a reason, got an empty one")
    xs = tuple(float(v) for v in np.asarray(x, float).ravel())
    ys = tuple(float(v) for v in np.asarray(y, float).ravel())
    none = SeedsNeeded(None, f"undefined ({reason})")
    k = sum(a > b for a, b in zip(xs, ys, strict=False))
    return Verdict(
        claim,
        "undecidable",
        len(xs),
        k,
        "",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        none,
        xs,
        ys,
        alpha,
        reason,
    )


def seeds_for_power(
    effect: float | None,
    alpha: float = ALPHA,
    power: float = 0.8,
    max_seeds: int = MAX_POWER_SEEDS,
) -> SeedsNeeded:
    """Smallest n at which the one-sided test reaches ``power`` at effect d_z, by this model:

    d_s ~ Normal(d_z sd, sd) independent over seeds, power of the one-sided paired t-test,
    Power(n) = P(T' > t_{1-alpha, n-1}), T' noncentral t (df n - 1, nc d_z sqrt(n)) (Cohen
    1988, ch. 2). The exact sign-flip test that decides matches it asymptotically (Pitman
    efficiency 1 under normality) and needs a few seeds more at small n; n starts at the
    least n at which it can reach alpha (2^-n < alpha: 5 at 0.05); an effect beyond
    :data:`EFFECT_CAP` is judged at the cap (power grows with d_z). Never a number from a NaN:
    an uncomputable power, no effect, an undefined effect or more than ``max_seeds`` say so.

    Examples:
        >>> seeds_for_power(1.0).seeds, seeds_for_power(1e-4).text
        (8, 'more than 1000')
    """
    if effect is None or not math.isfinite(effect):
        return SeedsNeeded(None, "undefined (zero spread: every seed gives the same difference)")
    if effect <= 0:
        return SeedsNeeded(None, "none: no effect in the finding's direction")
    lo, hi = max(2, math.floor(math.log2(1 / alpha)) + 1), max_seeds
    if lo > hi:
        return SeedsNeeded(None, f"more than {max_seeds}")
    least = _power(lo, min(effect, EFFECT_CAP), alpha)
    if not math.isfinite(least):
        return SeedsNeeded(None, f"not computed (the noncentral t gave {least} at n = {lo})")
    if least >= power:  # power grows with d_z: beyond the cap, this n serves a fortiori
        return SeedsNeeded(lo, str(lo))
    top = _power(hi, effect, alpha)
    if not math.isfinite(top):
        return SeedsNeeded(None, f"not computed (the noncentral t gave {top} at n = {hi})")
    if top < power:
        return SeedsNeeded(None, f"more than {max_seeds}")
    while lo < hi:  # power grows with n
        mid = (lo + hi) // 2
        p = _power(mid, effect, alpha)
        if not math.isfinite(p):
            return SeedsNeeded(None, f"not computed (the noncentral t gave {p} at n = {mid})")
        if p >= power:
            hi = mid
        else:
            lo = mid + 1
    return SeedsNeeded(lo, str(lo))


def _power(n: int, effect: float, alpha: float) -> float:
    crit = stats.t.ppf(1 - alpha, n - 1)
    return float(stats.nct.sf(crit, n - 1, effect * math.sqrt(n)))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order; NaN stays NaN
    (``scipy.stats.false_discovery_control`` over the finite ones).

    q_(i) = min_{j >= i} min(1, p_(j) m / j) over the m finite p-values, ranked ascending
    (Benjamini and Hochberg 1995); a sign is kept at FDR alpha when q < alpha.

    Examples:
        >>> [round(q, 3) for q in benjamini_hochberg([0.01, 0.04, 0.03])]
        [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q.tolist()


@dataclass(frozen=True)
class NullRule:
    """The null rule's result: the method's paired effect against each null's, per null."""

    claim: str
    outcome: str  # replicated (every null beaten), contradicted, inconclusive or undecidable
    per_null: dict[str, Verdict]
    alpha: float = ALPHA

    @property
    def holds(self) -> bool:
        return self.outcome == "replicated"

    def message(self) -> str:
        beaten = [name for name, v in self.per_null.items() if v.holds]
        lines = [
            f"{self.claim}: {self.outcome} (beats {len(beaten)} of {len(self.per_null)} nulls, "
            f"each by the exact sign-flip test at alpha {self.alpha:g}; intersection-union test)"
        ]
        return "\n".join(lines + [f"  vs {name}: {v.message()}" for name, v in self.per_null.items()])


def beyond_nulls(
    method_d: Sequence[float],
    nulls_d: Mapping[str, Sequence[float]],
    *,
    claim: str = "the method's effect exceeds every null's",
    alpha: float = ALPHA,
) -> NullRule:
    """Does the method's paired effect exceed every null's on the same models and seeds?

    For each null: e_s = method_d_s - null_d_s (difference scale), tested e > 0 by the exact
    sign-flip test at ``alpha``. The finding holds only when every null is beaten: an
    intersection-union test (Berger 1982), of level alpha with each null at alpha, no
    correction. Contradicted (some null beats the method) is a union claim, so its reverse
    tests are Bonferroni-corrected (alpha / number of nulls). Undecidable when a null's test is
    and none contradicts; inconclusive otherwise.

    Examples:
        >>> r = beyond_nulls([2.0, 2.1, 1.9, 2.2, 2.0], {"random": [0.1, 0.0, 0.2, -0.1, 0.0]})
        >>> r.outcome, r.per_null["random"].outcome
        ('replicated', 'replicated')
    """
    if not nulls_d:
        raise InvalidArgument("beyond_nulls needs at least one null, got none")
    per_null = {
        name: paired_test(
            method_d, d, claim=f"{claim}: beats {name}", margin=0.0, scale="difference", alpha=alpha
        )
        for name, d in nulls_d.items()
    }
    verdicts = per_null.values()
    if any(v.p_reverse is not None and v.p_reverse < alpha / len(per_null) for v in verdicts):
        outcome = "contradicted"
    elif all(v.holds for v in verdicts):
        outcome = "replicated"
    elif any(v.outcome == "undecidable" for v in verdicts):
        outcome = "undecidable"
    else:
        outcome = "inconclusive"
    return NullRule(claim, outcome, per_null, alpha)

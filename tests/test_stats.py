import math

import numpy as np
import pytest
from scipy import stats as sps

from salcheck.errors import InvalidArgument
from salcheck.science.stats import benjamini_hochberg, paired_test, seeds_for_power

X = [12.0, 9.0, 15.0, 11.0, 7.0]
Y = [2.0, 3.0, 1.5, 2.5, 4.0]


def test_p_values_match_scipys_one_sided_paired_t_test():
    v = paired_test(X, Y, claim="x > y")
    lx, ly = np.log(X), np.log(Y)
    assert v.p_forward == pytest.approx(sps.ttest_rel(lx, ly, alternative="greater").pvalue)
    assert v.p_reverse == pytest.approx(sps.ttest_rel(lx, ly, alternative="less").pvalue)
    d = lx - ly
    assert v.mean == pytest.approx(d.mean()) and v.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    assert v.outcome == "replicated" and v.k == 5 and v.holds


def test_three_way_outcomes():
    assert paired_test(Y, X, claim="y > x").outcome == "contradicted"
    noisy = paired_test([1.0, 2.0, 1.0, 2.0], [1.5, 1.5, 1.5, 1.5], claim="noise")
    assert noisy.outcome == "inconclusive" and not noisy.holds


def test_difference_scale_and_margin():
    a = [0.95, 1.0, 0.9, 1.0, 0.97]
    v = paired_test(a, [0.8] * 5, claim="a > 0.8", margin=0.0, scale="difference")
    assert v.outcome == "replicated"
    assert v.mean == pytest.approx(np.mean(a) - 0.8)
    twice = paired_test([4.0, 4.2, 3.9], [1.0, 1.0, 1.0], claim="x > 2y", margin=2.0)
    assert twice.mean == pytest.approx(np.mean(np.log([4.0, 4.2, 3.9])) - math.log(2))
    assert paired_test([1.5, 1.6, 1.7], [1.0] * 3, claim="x > 2y", margin=2.0).outcome == "contradicted"


def test_zero_variance_and_non_finite():
    same = paired_test([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], claim="x > y")
    assert same.outcome == "replicated" and same.p_forward == 0 and same.seeds_for_power == 2
    tie = paired_test([1.0, 1.0], [1.0, 1.0], claim="tie")
    assert tie.outcome == "inconclusive" and tie.effect_size == 0
    bad = paired_test([1.0, 0.0, 2.0], [1.0, 1.0, 1.0], claim="log 0")
    assert bad.outcome == "inconclusive" and math.isnan(bad.p_forward)


@pytest.mark.parametrize(
    ("x", "y", "kw", "match"),
    [
        ([1.0], [1.0], {}, "at least 2 seeds"),
        ([1.0, 2.0], [1.0], {}, "equal-length"),
        ([1.0, 2.0], [1.0, 2.0], {"scale": "ratio"}, "scale must be one of"),
        ([1.0, 2.0], [1.0, 2.0], {"alpha": 0.7}, r"alpha must lie in \(0, 0.5\), got alpha=0.7"),
    ],
)
def test_bad_arguments_name_the_value(x, y, kw, match):
    with pytest.raises(InvalidArgument, match=match):
        paired_test(x, y, claim="bad", **kw)


@pytest.mark.parametrize(("effect", "n"), [(0.5, 27), (0.8, 12), (1.0, 8), (2.5, 3)])
def test_seeds_for_power_known_values(effect, n):
    """One-sided paired t-test, alpha 0.05, power 0.8 (as G*Power tabulates)."""
    assert seeds_for_power(effect) == n


def test_seeds_for_power_without_an_effect():
    assert seeds_for_power(0.0) is None and seeds_for_power(-1.0) is None
    assert seeds_for_power(1e-4) is None  # beyond 10,000 seeds


def test_benjamini_hochberg():
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.2]) == pytest.approx(
        [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2]
    )
    q = benjamini_hochberg([0.5, float("nan"), 0.01])
    assert math.isnan(q[1]) and q[0] == pytest.approx(0.5) and q[2] == pytest.approx(0.02)

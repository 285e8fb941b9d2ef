import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

import salcheck.science.stats as st
from salcheck.errors import InvalidArgument
from salcheck.science.stats import (
    MAX_EXACT_SEEDS,
    benjamini_hochberg,
    beyond_nulls,
    paired_test,
    seeds_for_power,
    sign_flip_p,
    undecidable,
)

X = [12.0, 9.0, 15.0, 11.0, 7.0]
Y = [2.0, 3.0, 1.5, 2.5, 4.0]


def brute_force_p(d, greater=True):
    """The sign-flip p by enumerating every sign pattern by hand (the oracle, not scipy)."""
    d = np.asarray(d, float)
    observed = d.mean()
    means = [np.mean(np.array(s) * np.abs(d)) for s in itertools.product((1, -1), repeat=len(d))]
    hits = [m >= observed - 1e-12 if greater else m <= observed + 1e-12 for m in means]
    return sum(hits) / len(means)


@pytest.mark.parametrize(
    "d",
    [
        [0.3, 0.1, 0.2, 0.4, 0.5],
        [0.3, 0.1, 0.2, 0.4, -0.05],
        [1.0, -2.0, 0.5, 0.7, 0.1, -0.2],
        [-0.2, -0.1, 0.05],
        [0.0, 0.0, 0.4, -0.4],
    ],
)
def test_exact_p_matches_an_enumeration_of_every_sign_pattern(d):
    assert sign_flip_p(d) == pytest.approx(brute_force_p(d))
    assert sign_flip_p(d, "less") == pytest.approx(brute_force_p(d, greater=False))


def test_exact_test_decides_and_the_t_test_is_beside_it():
    v = paired_test(X, Y, claim="x > y")
    lx, ly = np.log(X), np.log(Y)
    assert v.p_forward == 1 / 32 and v.p_reverse == 1.0
    assert v.t_p_forward == pytest.approx(sps.ttest_rel(lx, ly, alternative="greater").pvalue)
    assert v.t_p_reverse == pytest.approx(sps.ttest_rel(lx, ly, alternative="less").pvalue)
    d = lx - ly
    assert v.mean == pytest.approx(d.mean()) and v.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    assert v.outcome == "replicated" and v.k == 5 and v.holds
    # One seed of five disagrees: the t-test says p < 0.05, the exact test does not decide.
    one_off = paired_test([3.0, 3.1, 2.9, 3.2, 0.95], [1.0] * 5, claim="one seed off")
    assert one_off.t_p_forward is not None and one_off.t_p_forward < 0.05
    assert one_off.p_forward == 2 / 32 and one_off.outcome == "inconclusive"


def test_three_way_outcomes():
    assert paired_test(Y, X, claim="y > x").outcome == "contradicted"
    noisy = paired_test([1.0, 2.0, 1.0, 2.0, 1.0], [1.5] * 5, claim="noise")
    assert noisy.outcome == "inconclusive" and not noisy.holds


def test_difference_scale_and_margin():
    a = [0.95, 1.0, 0.9, 1.0, 0.97]
    v = paired_test(a, [0.8] * 5, claim="a > 0.8", margin=0.0, scale="difference")
    assert v.outcome == "replicated" and v.mean == pytest.approx(np.mean(a) - 0.8)
    x = [4.0, 4.2, 3.9, 4.1, 4.4]
    twice = paired_test(x, [1.0] * 5, claim="x > 2y", margin=2.0)
    assert twice.mean == pytest.approx(np.mean(np.log(x)) - math.log(2))
    assert paired_test([1.5, 1.6, 1.7, 1.5, 1.6], [1.0] * 5, claim="x > 2y", margin=2.0).outcome == (
        "contradicted"
    )


def test_zero_spread_has_no_infinite_effect_and_no_zero_p():
    same = paired_test([2.0] * 5, [1.0] * 5, claim="x > y")
    assert same.outcome == "replicated" and same.p_forward == 1 / 32 and same.p_reverse == 1.0
    assert same.effect_size is None and same.t_p_forward is None and same.sd == 0
    assert same.seeds_for_power is None and "undefined" in same.power.text
    text = same.message()
    assert "inf" not in text and "nan" not in text and "(1/32)" in text and "zero spread" in text
    tie = paired_test([1.0] * 5, [1.0] * 5, claim="tie")
    assert tie.outcome == "inconclusive" and tie.p_forward == 1.0 and tie.effect_size is None


def test_a_spread_of_float_noise_is_a_zero_spread():
    f = [1.0, 1.01, 0.99, 1.02, 0.98]
    v = paired_test([2.02 * a for a in f], [1.01 * a for a in f], claim="x = 2y on every seed")
    d = np.log([2.02 * a for a in f]) - np.log([1.01 * a for a in f])
    assert 0 < d.std(ddof=1) < 1e-14, "the case this test is about: float noise, not 0"
    assert v.sd == 0 and v.effect_size is None and v.t_p_forward is None
    assert v.outcome == "replicated" and "undefined" in v.power.text and "nan" not in v.message()


def test_too_few_seeds_to_reach_alpha_says_so():
    v = paired_test([5.0, 6.0, 7.0, 8.0], [1.0] * 4, claim="four seeds")
    assert v.k == 4 and v.p_forward == 1 / 16 and v.outcome == "inconclusive"
    assert "cannot reach alpha (least p = 1/16)" in v.message()
    assert "cannot reach alpha" not in paired_test(X, Y, claim="five").message()


def test_non_finite_values_are_undecidable_with_the_seeds_that_gave_them():
    bad = paired_test([1.0, 0.0, 2.0, 1.0, 1.0], [1.0] * 5, claim="log 0")
    assert bad.outcome == "undecidable" and not bad.holds and bad.p_forward is None
    assert "seed position(s) [1]" in bad.reason and "log of a value <= 0" in bad.reason
    assert bad.message().startswith("log 0: undecidable (non-finite difference")


def test_undecidable_constructor():
    v = undecidable("b > b†", "the cell did not learn (balanced accuracy 0.5)", [1.0, 1.1], [1.0, 0.9])
    assert v.outcome == "undecidable" and v.reason.startswith("the cell did not learn")
    assert v.x == (1.0, 1.1) and v.n == 2 and v.mean is None and v.seeds_for_power is None
    assert "undecidable (the cell did not learn" in v.message()
    with pytest.raises(InvalidArgument, match="needs a reason"):
        undecidable("b > b†", " ", [1.0], [1.0])


def test_digest_is_the_values_bit_for_bit():
    v = paired_test(X, Y, claim="x > y")
    assert v.digest() == paired_test(list(X), list(Y), claim="other words").digest()
    nudged = [X[0] * (1 + 1e-15), *X[1:]]
    assert v.digest() != paired_test(nudged, Y, claim="x > y").digest()
    assert v.digest() != paired_test(Y, X, claim="x > y").digest()


@pytest.mark.parametrize(
    ("x", "y", "kw", "match"),
    [
        ([1.0], [1.0], {}, "at least 2 seeds"),
        ([1.0, 2.0], [1.0], {}, "equal-length"),
        ([1.0, 2.0], [1.0, 2.0], {"scale": "ratio"}, "scale must be one of"),
        ([1.0, 2.0], [1.0, 2.0], {"alpha": 0.7}, r"alpha must lie in \(0, 0.5\), got alpha=0.7"),
        (
            [1.0, 2.0],
            [1.0, 2.0],
            {"margin": 0.0},
            r"margin on the log scale must be > 0, got margin=0.0",
        ),
        ([1.0] * 17, [1.0] * 17, {}, rf"takes 2 to {MAX_EXACT_SEEDS} seeds .*, got 17"),
    ],
)
def test_bad_arguments_name_the_value(x, y, kw, match):
    with pytest.raises(InvalidArgument, match=match):
        paired_test(x, y, claim="bad", **kw)


@pytest.mark.parametrize(("effect", "n"), [(0.5, 27), (0.8, 12), (1.0, 8), (1.5, 5)])
def test_seeds_for_power_known_values(effect, n):
    """One-sided paired t-test, alpha 0.05, power 0.8 (as G*Power tabulates)."""
    assert seeds_for_power(effect).seeds == n and seeds_for_power(effect).text == str(n)


def test_seeds_for_power_starts_where_the_exact_test_can_reach_alpha():
    # The t-test model alone answers 3 seeds at d_z = 2.5; the exact test needs 2^-n < alpha.
    assert seeds_for_power(2.5).seeds == 5
    assert seeds_for_power(2.5, alpha=0.01).seeds == 7


def test_a_huge_effect_needs_the_least_seeds_not_a_nan():
    # The noncentral t gives NaN at nc ~ 1e16; the answer is the exact test's least n.
    assert seeds_for_power(1e15).seeds == 5


def test_seeds_for_power_without_a_number_says_why():
    assert seeds_for_power(0.0).seeds is None and "no effect" in seeds_for_power(-1.0).text
    assert seeds_for_power(None).text.startswith("undefined (zero spread")
    far = seeds_for_power(1e-4)
    assert far.seeds is None and far.text == "more than 1000"
    assert seeds_for_power(0.2, max_seeds=50).text == "more than 50"


@pytest.mark.parametrize(
    "nan_at",
    # everywhere, at the least n, at the bound, between them
    [lambda df: True, lambda df: df == 4, lambda df: df == 999, lambda df: 4 < df < 999],
)
def test_seeds_for_power_never_comes_from_a_nan(monkeypatch, nan_at):
    real = sps.nct.sf
    monkeypatch.setattr(
        st.stats.nct, "sf", lambda c, df, nc: math.nan if nan_at(df) else real(c, df, nc)
    )
    out = seeds_for_power(0.8)
    assert out.seeds is None and out.text.startswith("not computed (the noncentral t gave nan")


def test_benjamini_hochberg():
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.2]) == pytest.approx(
        [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2]
    )
    q = benjamini_hochberg([0.5, float("nan"), 0.01])
    assert math.isnan(q[1]) and q[0] == pytest.approx(0.5) and q[2] == pytest.approx(0.02)


STRONG = [2.0, 2.1, 1.9, 2.2, 2.0]


def test_beyond_nulls_holds_only_when_every_null_is_beaten():
    nulls = {"random": [0.1, 0.0, 0.2, -0.1, 0.0], "sobel": [1.0, 1.2, 0.9, 1.1, 1.0]}
    r = beyond_nulls(STRONG, nulls)
    assert r.outcome == "replicated" and r.holds and set(r.per_null) == {"random", "sobel"}
    assert r.per_null["sobel"].mean == pytest.approx(np.mean(STRONG) - np.mean(nulls["sobel"]))
    close = {**nulls, "constant": [2.1, 2.0, 2.0, 2.1, 1.9]}  # beats the method on 2 seeds
    r = beyond_nulls(STRONG, close)
    assert r.outcome == "inconclusive" and not r.holds
    assert [n for n, v in r.per_null.items() if not v.holds] == ["constant"]
    assert "beats 2 of 3 nulls" in r.message() and "vs constant:" in r.message()


def test_beyond_nulls_contradiction_is_bonferroni_corrected():
    higher = [3.0, 3.1, 2.9, 3.2, 3.0]  # a null above the method on every seed: p = 1/32
    assert beyond_nulls(STRONG, {"edges": higher}).outcome == "contradicted"
    two = beyond_nulls(STRONG, {"edges": higher, "random": [0.0] * 5})
    assert two.outcome == "inconclusive", "1/32 is not below alpha / 2 nulls"


def test_at_ten_seeds_a_null_beating_the_method_contradicts_against_four_nulls():
    # 5 seeds: the least one-sided p is 1/32 = 0.031, never below alpha / 4 = 0.0125, so with the
    # study's four nulls the branch cannot fire; at 10 seeds it is 1/1024, and it does
    method = [2.0, 2.1, 1.9, 2.2, 2.0, 2.1, 1.8, 2.0, 2.2, 1.9]
    nulls = {"random": [0.0] * 10, "constant": [0.0] * 10, "untrained": [0.1] * 10}
    above = [m + 0.5 for m in method]
    r = beyond_nulls(method, {**nulls, "sobel": above})
    assert r.per_null["sobel"].p_reverse == pytest.approx(1 / 1024)
    assert r.outcome == "contradicted"
    five = beyond_nulls(method[:5], {k: v[:5] for k, v in {**nulls, "sobel": above}.items()})
    assert five.outcome == "inconclusive"


def test_beyond_nulls_undecidable_and_bad_input():
    r = beyond_nulls(STRONG, {"random": [0.1, math.nan, 0.0, 0.0, 0.1], "flat": [0.0] * 5})
    assert r.outcome == "undecidable" and r.per_null["random"].outcome == "undecidable"
    with pytest.raises(InvalidArgument, match="at least one null"):
        beyond_nulls(STRONG, {})
    with pytest.raises(InvalidArgument, match="equal-length"):
        beyond_nulls(STRONG, {"short": [0.0, 0.0]})

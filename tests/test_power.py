"""The BH power simulation (salcheck.science.power): its exact p is scipy's, its counts follow
the effect sizes, and the same generator gives the same numbers. Fast."""

import numpy as np
import pytest

from salcheck.errors import InvalidArgument
from salcheck.science.power import bh_power, effect_of, exact_p
from salcheck.science.stats import EFFECT_CAP, paired_test, sign_flip_p, undecidable


@pytest.mark.parametrize("n", [3, 5, 8])
def test_exact_p_is_scipys_sign_flip_p(n):
    rng = np.random.default_rng(n)
    d = rng.normal(0.3, 1.0, size=(40, n))
    d[0] = np.abs(d[0])  # every seed positive: the least p
    d[1, :2] = [0.5, -0.5]  # a tie in magnitude
    np.testing.assert_allclose(exact_p(d), [sign_flip_p(row) for row in d], atol=1e-12)
    assert exact_p(d)[0] == pytest.approx(2.0**-n)


def test_more_seeds_keep_more_signs_and_the_generator_fixes_the_numbers():
    effects = [1.5] * 20 + [0.0] * 20
    rows = bh_power(effects, [5, 10, 15], draws=30, rng=np.random.default_rng(1))
    kept = [r.mean_kept for r in rows]
    assert kept[0] == 0.0 < kept[1] < kept[2] <= 20  # 5 seeds: 1/32 never passes BH over 40
    assert all(r.with_effect == 20 and r.low <= r.mean_kept <= r.high for r in rows)
    again = bh_power(effects, [5, 10, 15], draws=30, rng=np.random.default_rng(1))
    assert again == rows
    with pytest.raises(InvalidArgument, match="draws must be >= 1, got 0"):
        bh_power(effects, [5], draws=0, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="1 to 16 seeds, got 17"):
        exact_p(np.ones((1, 17)))


def test_effect_of_a_verdict():
    up = paired_test([3, 4, 5, 4, 3], [1, 1, 1.5, 1, 1], claim="x > y")
    assert effect_of(up) == pytest.approx(up.effect_size)
    flat = paired_test([2, 2, 2, 2, 2], [1, 1, 1, 1, 1], claim="x > y")  # sd 0, all one way
    assert flat.effect_size is None and effect_of(flat) == EFFECT_CAP
    down = paired_test([1, 1, 1, 1, 1], [3, 4, 5, 4, 3], claim="x > y")
    assert effect_of(down) == 0.0
    assert effect_of(undecidable("x > y", "no model", [1.0] * 5, [1.0] * 5)) == 0.0

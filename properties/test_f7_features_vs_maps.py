"""F7. The network knows more than its maps show.

Poster (homogeneous, default): a = 0.95 (features separate the subtypes) while b† = 1.6 is far
below b = 12.3. Decision rule: a >= 0.8 on every seed, and the one-sided paired t-test over
seeds of log b - log b† - log 2 > 0 at alpha = 0.05 (b at least twice b†).
"""

import pytest


@pytest.mark.finding(7, "features separate subtypes on models whose atypical maps fail")
def test_features_separate_subtypes_that_maps_do_not(salcheck_engine, assert_comparison):
    a = salcheck_engine.criterion("a", "homogeneous")
    assert min(a) >= 0.8, f"a = {a} (needs >= 0.8 on every seed)"
    assert_comparison("F7")

"""F7. The network knows more than its maps show; its features separate the subtypes.

Poster (homogeneous, default): a = 0.95 while b† = 1.6 is far below b = 12.3; a is 0.80-1.00 on
every row of its tables. Decision rules: exact paired sign-flip test over seeds of
log b - log b† - log 2 > 0 (b at least twice b†), and of mean(a) - 0.8 > 0 for every cell
("a close to 1"), each at alpha = 0.05.
"""

import pytest

from salcheck.science.findings import A_CLOSE_TO_ONE

pytestmark = pytest.mark.slow  # trains networks


@pytest.mark.finding(7, "features separate subtypes on models whose atypical maps fail")
def test_features_separate_subtypes_that_maps_do_not(assert_comparison):
    assert_comparison("A-homogeneous-default")
    assert_comparison("F7-b-twice-b_dagger")


@pytest.mark.finding(7, "a is close to 1 for every variant")
@pytest.mark.parametrize("key", sorted(A_CLOSE_TO_ONE))
def test_features_subtype_for_every_variant(assert_comparison, key):
    assert_comparison(key)

"""F2. With a large dataset, both subtypes are better represented.

Poster: b† 1.6 (homogeneous) -> 12.9 (large, 10,000 per class); b 12.3 -> 102.5. The ci tier's
large set has 2,000 per class (README). Decision rule: one-sided paired t-test over seeds of
log(value on large) - log(value on homogeneous) > 0 at alpha = 0.05.
"""

import pytest


@pytest.mark.finding(2, "maps improve with data")
@pytest.mark.parametrize("criterion", ["b_dagger", "b"])
def test_large_set_improves_maps(assert_comparison, criterion):
    assert_comparison(f"F2-{criterion}")

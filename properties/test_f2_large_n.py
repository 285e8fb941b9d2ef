"""F2. With a large dataset, both subtypes are better represented.

Poster: b 12.3 -> 102.5, b† 1.6 -> 12.9, c 5.3 -> 12.3, c† 4.2 -> 13.7 (homogeneous -> large,
10,000 per class; the ci tier's large set has 2,000). Decision rule: exact paired sign-flip test
over seeds of log(value on large) - log(value on homogeneous) > 0 at alpha = 0.05. The report
also sets the large set against homogeneous trained for as many optimiser steps.
"""

import pytest

pytestmark = pytest.mark.slow  # trains networks


@pytest.mark.finding(2, "maps improve with data")
@pytest.mark.parametrize("criterion", ["b", "b_dagger", "c", "c_dagger"])
def test_large_set_improves_maps(assert_comparison, criterion):
    assert_comparison(f"F2-{criterion}")

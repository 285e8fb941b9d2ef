"""F5. Augmentation and loss cannot be coupled easily: Noise + L1 deteriorates typical maps.

Poster, homogeneous: b = 6.91 with Noise + L1, against 18.37 with Noise and 11.00 with L1.
Decision rule: one-sided paired t-test over seeds of log b(other) - log b(Noise+L1) > 0 at
alpha = 0.05.
"""

import pytest


@pytest.mark.finding(5, "Noise + L1 lowers b")
@pytest.mark.parametrize("single", ["Noise", "L1"])
def test_noise_plus_l1_lowers_typical_separability(assert_comparison, single):
    assert_comparison(f"F5-{single}")

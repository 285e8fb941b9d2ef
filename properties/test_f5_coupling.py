"""F5. Augmentation and loss cannot be coupled easily: Noise + L1 deteriorates typical maps.

Poster: b with Noise + L1 6.91 against 18.37 (Noise) and 11.00 (L1) on homogeneous; 6.22
against 17.28 and 11.38 on heterogeneous. Decision rule: exact paired sign-flip test over seeds of
log b(single technique) - log b(Noise+L1) > 0 at alpha = 0.05.
"""

import pytest

pytestmark = pytest.mark.slow  # trains networks


@pytest.mark.finding(5, "Noise + L1 lowers b")
@pytest.mark.parametrize("single", ["Noise", "L1"])
@pytest.mark.parametrize("dataset", ["homogeneous", "heterogeneous"])
def test_noise_plus_l1_lowers_typical_separability(assert_comparison, dataset, single):
    assert_comparison(f"F5-{dataset}-{single}")

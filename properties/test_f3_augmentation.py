"""F3. Separability can be improved with data augmentation.

Poster, homogeneous (default b = 12.3, b† = 1.6): Noise 18.37 / 2.32, CropPad 20.60 / 2.00,
Erasing 19.55 / 1.79. Decision rule: one-sided paired t-test over seeds of
log(value with augmentation) - log(value of default training) > 0 at alpha = 0.05.
"""

import pytest


@pytest.mark.finding(3, "augmentation raises separability")
@pytest.mark.parametrize("criterion", ["b", "b_dagger"])
@pytest.mark.parametrize("variant", ["Noise", "CropPad", "Erasing"])
def test_augmentation_raises_separability(assert_comparison, variant,
                                          criterion):
    assert_comparison(f"F3-{variant}-{criterion}")

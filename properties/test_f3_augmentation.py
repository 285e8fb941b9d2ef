"""F3. Separability and specificity can be improved with data augmentation.

Poster, homogeneous (default b 12.3, b† 1.6, c 5.3, c† 4.2): Noise 18.37 / 2.32 / 9.08 / 5.48,
CropPad 20.60 / 2.00, Erasing 19.55 / 1.79, Smoothing c† 7.88; heterogeneous (default b 8.6,
b† 0.9): CropPad 20.60 / 2.56, Erasing 13.72 / 1.99, Noise 17.28 / 2.34. Decision rule:
exact paired sign-flip test over seeds of log(with augmentation) - log(default) > 0, alpha 0.05.
"""

import pytest

pytestmark = pytest.mark.slow  # trains networks


@pytest.mark.finding(3, "augmentation raises separability")
@pytest.mark.parametrize("criterion", ["b", "b_dagger"])
@pytest.mark.parametrize("variant", ["Noise", "CropPad", "Erasing"])
@pytest.mark.parametrize("dataset", ["homogeneous", "heterogeneous"])
def test_augmentation_raises_separability(assert_comparison, dataset, variant, criterion):
    assert_comparison(f"F3-{dataset}-{variant}-{criterion}")


@pytest.mark.finding(3, "augmentation raises specificity")
@pytest.mark.parametrize("key", ["Noise-c", "Noise-c_dagger", "Smoothing-c_dagger"])
def test_augmentation_raises_specificity(assert_comparison, key):
    assert_comparison(f"F3-homogeneous-{key}")

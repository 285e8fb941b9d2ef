"""F8. Sanity (Adebayo et al. 2018): cascading model randomisation drives the maps to chance.

Re-initialising the layers of the trained homogeneous model from the output backwards, the
typical group map's b and c move towards 1 and the rank correlation of |map| with the trained
model's maps falls. Decision rules: exact paired sign-flip tests over seeds of
log|log v_trained| - log|log v_randomised| > 0 for v = b and v = c, and of
0.3 - Spearman rho after full randomisation > 0, each at alpha = 0.05.
"""

import pytest

pytestmark = pytest.mark.slow  # trains networks


@pytest.mark.finding(8, "model randomisation drives maps to chance")
@pytest.mark.parametrize("key", ["F8-b", "F8-c", "F8-spearman"])
def test_randomisation_drives_maps_to_chance(assert_comparison, key):
    assert_comparison(key)

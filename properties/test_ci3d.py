"""F1, F2, F7 and F8 on volumes: the ci3d tier (32^3, ConvNet3D, seeds 0-4).

The tier trains the default cells of homogeneous, heterogeneous and large only, so it decides
the findings on those cells: F1 (b > b† on homogeneous and heterogeneous), F2 (b, b†, c, c† on
large > on homogeneous), F7 (a > 0.8 on homogeneous; b > 2 b†) and F8 (cascading randomisation
drives b, c and the rank correlation of |map| to chance). Each is decided as in 2-D (the exact
paired sign-flip test over seeds at alpha = 0.05, beyond the null maps for map criteria) and
gated against the ci3d record, ``properties/verdicts/ci3d-<method>.json`` (``salcheck verdicts
--tier ci3d --write properties/verdicts``). The tier is named here, not by ``--salcheck-tier``
(nor its seeds by ``--salcheck-seeds``): these run in every run of the suite, beside the run's
tier.
"""

import pytest

pytestmark = pytest.mark.slow  # trains the ci3d tier's models when the zoo lacks them

TIER = "ci3d"


@pytest.fixture
def assert_ci3d(assert_comparison_on):
    return assert_comparison_on(TIER)


@pytest.mark.finding(1, "typical maps beat atypical ones with few samples, in 3-D")
@pytest.mark.parametrize("dataset", ["homogeneous", "heterogeneous"])
def test_typical_volume_maps_beat_atypical_ones(assert_ci3d, dataset):
    assert_ci3d(f"F1-{dataset}")


@pytest.mark.finding(2, "volume maps improve with data")
@pytest.mark.parametrize("criterion", ["b", "b_dagger", "c", "c_dagger"])
def test_large_set_improves_volume_maps(assert_ci3d, criterion):
    assert_ci3d(f"F2-{criterion}")


@pytest.mark.finding(7, "features separate subtypes on volume models whose atypical maps fail")
@pytest.mark.parametrize("key", ["A-homogeneous-default", "F7-b-twice-b_dagger"])
def test_volume_features_separate_subtypes_that_maps_do_not(assert_ci3d, key):
    assert_ci3d(key)


@pytest.mark.finding(8, "model randomisation drives volume maps to chance")
@pytest.mark.parametrize("key", ["F8-b", "F8-c", "F8-spearman"])
def test_randomisation_drives_volume_maps_to_chance(assert_ci3d, key):
    assert_ci3d(key)

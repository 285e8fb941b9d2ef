"""F6. The criteria are calibrated against chance: a random behaviour scores a = 0, b = c = 1.

Poster: "values of a random behaviour: a = 0.00; b = b† = 1.00; c = c† = 1.00". No training:
iid random maps over drawn cohorts, and random features. Decision rule: the mean over 40 random
map draws of each of b, b†, c, c† lies in [0.9, 1.1] (on each of 4 drawn cohorts);
|a| <= 0.05 for random features.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salcheck.cohort import make_cohort
from salcheck.criteria import feature_subtyping
from salcheck.engine.calibration import random_map_criteria
from salcheck.science.findings import CALIBRATION_A_BOUND, CALIBRATION_BAND
from salcheck.strategies import cohort_specs, seeds


@pytest.mark.finding(6, "random maps score b = c = 1")
@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(
    spec=cohort_specs(
        n_per_class=st.integers(20, 60),
        image_size=st.sampled_from([64, 128]),
        mix=st.just((0.0, 0.5, 0.5)),
    ),
    seed=seeds(),
)
def test_random_maps_score_chance(spec, seed):
    means = random_map_criteria(make_cohort(spec, seed), draws=40, seed=seed)
    lo, hi = CALIBRATION_BAND
    assert all(lo <= v <= hi for v in means.values()), f"mean b, c, b†, c† = {means}"


@pytest.mark.finding(6, "random features score a = 0")
@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(n=st.integers(50, 300), dims=st.integers(2, 64), seed=seeds())
def test_random_features_score_zero(n, dims, seed):
    rng = np.random.default_rng(seed)
    subtypes = np.repeat([1, 2], n)
    a = feature_subtyping(rng.normal(size=(2 * n, dims)), subtypes)
    assert abs(a) <= CALIBRATION_A_BOUND, f"a = {a:.3f} for random features (n = {2 * n}, d = {dims})"

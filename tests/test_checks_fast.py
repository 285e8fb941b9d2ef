"""The check suite's decisions on given numbers (no training): each check passes and fails."""

import math

import numpy as np
import torch

from salcheck.checks import (
    check_beats_chance,
    check_finite,
    check_localises,
    check_randomisation_sensitivity,
    check_signed_maps_take_both_signs,
    check_stable_across_seeds,
    check_unsigned_maps_are_nonnegative,
    run_check,
)
from salcheck.cohort import make_cohort, preset
from salcheck.models.networks import build_model
from salcheck.saliency import ConstantMap, VanillaGradient


class FakeEvidence:
    """Evidence with given per-seed numbers, one untrained model and a small test cohort."""

    def __init__(
        self, method=None, *, b=(5, 6, 7), c=(4, 5, 6), rma=0.2, rho=(0.1, 0.2, 0.1), finite=1.0
    ):
        self.method = method or VanillaGradient()
        self.models = [(None, build_model("convnet", 32, generator=torch.Generator().manual_seed(0)))]
        self.test = make_cohort(preset("test", image_size=32, n_per_class=6), 0)
        self._scores = {
            "b": list(b),
            "c": list(c),
            "b_dagger": [1.0] * len(b),
            "c_dagger": [1.0] * len(b),
            "rma_typical": [rma] * len(b),
            "finite": [finite] * len(b),
        }
        self._rho = list(rho)

    def scores(self, method=None):
        if method is None:
            return self._scores
        return {**self._scores, "rma_typical": [0.05] * len(self._scores["b"])}  # the nulls

    def randomisation(self):
        return self._rho


def test_beats_chance_needs_b_and_c_above_one_on_every_seed_of_five():
    five = {"b": (5, 6, 7, 6, 5), "c": (4, 5, 6, 5, 4)}
    assert check_beats_chance(FakeEvidence(**five)).passed
    assert not check_beats_chance(FakeEvidence(**{**five, "b": (5, 6, 7, 6, 0.9)})).passed
    assert not check_beats_chance(FakeEvidence(**{**five, "c": (0.9, 1.0, 1.1, 1.2, 1.3)})).passed
    assert not check_beats_chance(FakeEvidence()).passed, "3 seeds: the exact test's least p is 1/8"


def test_localises_against_the_nulls():
    assert check_localises(FakeEvidence(rma=0.2)).passed
    assert not check_localises(FakeEvidence(rma=0.05)).passed  # ties the nulls


def test_randomisation_sensitivity_ceiling_and_nan():
    assert check_randomisation_sensitivity(FakeEvidence(rho=(0.1, 0.3, 0.2))).passed
    assert not check_randomisation_sensitivity(FakeEvidence(rho=(0.9, 0.95, 0.9))).passed
    assert not check_randomisation_sensitivity(FakeEvidence(rho=(0.1, math.nan, 0.1))).passed


def test_stable_across_seeds_and_finite():
    assert check_stable_across_seeds(FakeEvidence(b=(5, 6, 7))).passed
    assert not check_stable_across_seeds(FakeEvidence(b=(0.9, 6, 7))).passed  # one seed <= 1
    assert not check_stable_across_seeds(FakeEvidence(b=(1.5, 60, 600))).passed  # spread
    assert check_finite(FakeEvidence()).passed and not check_finite(FakeEvidence(finite=0.0)).passed


def test_sign_checks_follow_the_maps_and_the_tags():
    assert check_signed_maps_take_both_signs(FakeEvidence(VanillaGradient())).passed
    assert not check_signed_maps_take_both_signs(FakeEvidence(ConstantMap())).passed
    assert check_unsigned_maps_are_nonnegative(FakeEvidence(ConstantMap())).passed
    assert not check_unsigned_maps_are_nonnegative(FakeEvidence(VanillaGradient())).passed
    skipped = run_check(check_unsigned_maps_are_nonnegative, FakeEvidence(VanillaGradient()))
    assert skipped.state == "SKIP" and skipped.passed
    assert np.isfinite(check_beats_chance(FakeEvidence()).numbers["p_b"])

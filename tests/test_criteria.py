import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from salcheck.cohort import atypical_box, make_cohort, preset, region_masks, typical_box
from salcheck.criteria import (
    CRITERIA,
    Inputs,
    Separability,
    feature_subtyping,
    localisation_scores,
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
    separability,
    spearman_rows,
    specificity,
)
from salcheck.engine.calibration import random_map_criteria
from salcheck.engine.randomisation import cascading_randomisation
from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.models.networks import build_model
from salcheck.saliency import VanillaGradient
from salcheck.strategies import cohort_specs, seeds


def test_b_and_c_by_hand():
    n = 128
    m = np.ones((n, n))
    m[typical_box(n).mask(n)] = 6.0
    m[atypical_box(n).mask(n)] = -2.0  # |M| is used
    assert separability(m, "typical") == 3.0
    assert separability(m, "atypical") == pytest.approx(1 / 3)
    assert specificity(m, "typical") == 6.0
    assert specificity(m, "atypical") == 2.0


def test_ratio_edge_cases():
    m = np.zeros((64, 64))
    assert math.isnan(separability(m))
    m[typical_box(64).mask(64)] = 1
    assert separability(m) == math.inf


def test_bad_map_shape_and_subtype():
    with pytest.raises(
        InvalidArgument, match=r"square \[N, N\] or cubic \[N, N, N\] array, got shape \(3, 64, 64\)"
    ):
        separability(np.zeros((3, 64, 64)))
    with pytest.raises(InvalidArgument, match="subtype must be 'typical' or 'atypical', got 'x'"):
        specificity(np.zeros((64, 64)), "x")


def test_every_criterion_declares_direction_and_chance():
    infos = {c.info().symbol: c.info() for c in CRITERIA}
    assert infos["a"].chance == 0.0 and infos["b"].chance == 1.0 and infos["c"].chance == 1.0
    assert infos["AUC"].chance == 0.5
    assert all(i.direction == "higher" and i.formula for i in infos.values())
    keys = [k for i in infos.values() for k in i.keys]
    assert len(keys) == len(set(keys)) == 13  # a, b, b†, c, c† and 4 localisation x 2 subtypes


def _inputs(n: int = 64) -> Inputs:
    """Inputs whose maps put all relevance in each image's own ROI."""
    cohort = make_cohort(preset("test", n_per_class=6, image_size=n), 0)
    maps, groups, members = {}, {}, {}
    for sub, code in (("typical", 1), ("atypical", 2)):
        members[sub] = cohort.indices(label=1, subtype=code)
        sel = cohort.subset(members[sub])
        maps[sub] = getattr(sel, f"{sub}_masks").astype(float)
        groups[sub] = maps[sub].mean(0)
    model = build_model("convnet", n, generator=torch.Generator())
    return Inputs(model, cohort, maps, groups, members)


def test_every_criterion_has_one_call_shape():
    inputs = _inputs()
    out = {}
    for criterion in CRITERIA:
        values = criterion()(inputs)
        assert tuple(values) == criterion.keys
        out.update(values)
    assert out["rma_typical"] == out["pointing_atypical"] == out["auc_typical"] == 1.0
    assert out["b"] > 1 and out["c_dagger"] > 1


def test_a_criterion_returning_other_keys_is_refused():
    class Broken(Separability):
        def compute(self, inputs):
            return {"b": 1.0}

    with pytest.raises(
        SalcheckError, match=r"Broken returned keys \['b'\], declared \['b', 'b_dagger'\]"
    ):
        Broken()(_inputs())


# --- calibration, over drawn cohort specs and image sizes -----------------------------------


@settings(max_examples=6, deadline=None)
@given(
    spec=cohort_specs(
        n_per_class=st.integers(20, 60),
        image_size=st.sampled_from([32, 64, 128]),
        mix=st.just((0.0, 0.5, 0.5)),
    ),
    seed=seeds(),
)
def test_random_maps_sit_at_chance(spec, seed):
    """iid random maps: b, b†, c, c† averaged over 100 draws lie in [0.9, 1.1].

    At N = 32 the typical box holds 18 pixels, so one draw's ratio has a relative spread of
    about 0.2 and, by Jensen's inequality, a small upward bias (about 3% for b†): the mean of
    100 draws is what sits at chance, not a single draw.
    """
    means = random_map_criteria(make_cohort(spec, seed), draws=100, seed=seed)
    assert all(0.9 <= v <= 1.1 for v in means.values()), means


@given(n=st.sampled_from([32, 64, 128, 256]), background=st.floats(0, 0.05))
def test_oracle_map_scores_at_least_10(n, background):
    r = region_masks(n)
    for sub in ("typical", "atypical"):
        m = np.where(r[sub], 1.0, background)
        assert separability(m, sub) >= 10
        assert specificity(m, sub) >= 10


@given(n=st.integers(4, 60), seed=seeds())
def test_one_hot_subtype_features_give_a_of_1(n, seed):
    rng = np.random.default_rng(seed)
    sub = np.concatenate([[1, 2], rng.integers(1, 3, n)])
    features = np.eye(3)[sub]
    assert feature_subtyping(features, sub) == pytest.approx(1.0)


@settings(max_examples=10, deadline=None)
@given(seed=seeds())
def test_random_features_give_a_near_0(seed):
    rng = np.random.default_rng(seed)
    sub = np.repeat([1, 2], 500)
    assert abs(feature_subtyping(rng.normal(size=(1000, 16)), sub)) <= 0.05


# --- localisation golden values on hand-made maps ---------------------------------------------

MASK = np.zeros((1, 4, 4), bool)
MASK[0, :2, :2] = True  # 4 of 16 pixels


def test_localisation_golden_values():
    m = np.zeros((1, 4, 4))
    m[0, 0, 0], m[0, 0, 1], m[0, 3, 3] = 3.0, -1.0, 4.0  # 4 of 8 mass inside
    assert relevance_mass_accuracy(m, MASK)[0] == 0.5
    # top-4 |m|: 4 (out), 3 (in), 1 (in), then the first zero in row-major order (0,2): out
    assert relevance_rank_accuracy(m, MASK)[0] == 0.5
    assert pointing_game(m, MASK)[0] == 0.0
    # AUC: inside scores {3, 1, 0, 0}, outside {4, 0 x 11}
    pairs = sum((i > o) + 0.5 * (i == o) for i in [3, 1, 0, 0] for o in [4] + [0] * 11)
    assert roc_auc(m, MASK)[0] == pytest.approx(pairs / 48)


def test_perfect_map_scores_one_and_empty_mask_is_nan():
    m = MASK.astype(float)
    assert localisation_scores(m, MASK) == {"rma": 1.0, "rra": 1.0, "auc": 1.0, "pointing": 1.0}
    empty = np.zeros_like(MASK)
    for fn in (relevance_mass_accuracy, relevance_rank_accuracy, roc_auc, pointing_game):
        assert np.isnan(fn(m, empty)[0])


def test_localisation_shape_mismatch():
    with pytest.raises(InvalidArgument, match=r"maps of shape \(1, 4, 4\) do not match masks"):
        roc_auc(np.zeros((1, 4, 4)), np.zeros((1, 5, 5), bool))


def test_spearman_rows():
    a = np.array([[1.0, 2, 3, 4]])
    assert spearman_rows(a, a)[0] == pytest.approx(1)
    assert spearman_rows(a, -a)[0] == pytest.approx(-1)


def test_cascading_randomisation_reports_every_layer():
    cohort = make_cohort(preset("test", n_per_class=8, image_size=32), 0)
    model = build_model("convnet", 32, generator=torch.Generator().manual_seed(0))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rows = cascading_randomisation(VanillaGradient(), model, cohort, seed=0)
    assert rows[0]["layer"] == "none" and rows[0]["spearman"] == pytest.approx(1)
    assert rows[1]["layer"] == "classifier.2" and rows[-1]["layer"] == "convolutions.0"
    assert len(rows) == 1 + 16
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


@settings(max_examples=8, deadline=None)
@given(
    spec=cohort_specs(
        n_per_class=st.integers(20, 40),
        image_size=st.sampled_from([64, 128]),
        mix=st.just((0.0, 0.5, 0.5)),
    ),
    seed=seeds(),
)
def test_every_drawn_roi_lies_in_its_region_box(spec, seed):
    """The analytic boxes hold every placement of their ROI: each pixel of each image's own
    typical (atypical) mask lies in R_typ (R_atyp) and outside the other box. Random maps
    score 1 on any pair of regions, so calibration alone would not catch a misplaced box."""
    c = make_cohort(spec, seed)
    r = region_masks(spec.image_size)
    for masks, inside, outside in (
        (c.typical_masks, "typical", "atypical"),
        (c.atypical_masks, "atypical", "typical"),
    ):
        assert masks.any(axis=(1, 2)).all()
        assert not (masks & ~r[inside]).any(), f"{inside} ROI pixels outside R_{inside}"
        assert not (masks & r[outside]).any(), f"{inside} ROI pixels inside R_{outside}"


def test_rank_metrics_equal_their_per_image_definitions():
    """The vectorised ROC-AUC and relevance rank accuracy give, bit for bit, what the
    one-image definitions give (scipy's average ranks; the stable top-K of |m|), on ties,
    zeros, a NaN, and empty, full and one-pixel masks."""
    from scipy.stats import rankdata

    from salcheck.criteria.localisation import relevance_rank_accuracy, roc_auc

    def auc_one(a, s):
        n_pos, n_neg = int(s.sum()), s.size - int(s.sum())
        if not (n_pos and n_neg):
            return np.nan
        return (rankdata(a)[s].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)

    def rra_one(a, s):
        k = int(s.sum())
        return s[np.argsort(-a, kind="stable")[:k]].mean() if k else np.nan

    rng = np.random.default_rng(7)
    for trial in range(24):
        a = np.abs(rng.normal(size=(12, 9, 9)))
        if trial % 2:
            a = np.round(a, 1)  # ties, at the K-th value too
        a[3, :4] = 0.0
        m = rng.random((12, 9, 9)) < 0.3
        m[0], m[1], m[2] = False, True, False
        m[2, 4, 4] = True
        if trial % 3 == 0:
            a[5, 0, 0] = np.nan
        flat_a, flat_m = a.reshape(12, -1), m.reshape(12, -1)
        want_auc = [auc_one(x, s) for x, s in zip(flat_a, flat_m, strict=True)]
        want_rra = [rra_one(x, s) for x, s in zip(flat_a, flat_m, strict=True)]
        assert np.array_equal(roc_auc(a, m), want_auc, equal_nan=True)
        assert np.array_equal(relevance_rank_accuracy(a, m), want_rra, equal_nan=True)

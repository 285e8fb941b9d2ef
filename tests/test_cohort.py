import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salcheck.cohort import (
    PRESETS,
    CohortSpec,
    atypical_box,
    largest_remainder,
    make_cohort,
    preset,
    region_masks,
    rest_mask,
    typical_box,
)
from salcheck.cohort.geometry import LARGE, SMALL, Geometry, inside_ellipse
from salcheck.cohort.phantoms import ROI2_ELLIPSES
from salcheck.errors import InvalidArgument
from salcheck.strategies import cohort_specs, seeds


def test_presets_match_the_poster():
    assert PRESETS["homogeneous"] == CohortSpec(500, (0.05, 0.85, 0.10))
    assert PRESETS["heterogeneous"] == CohortSpec(500, (0.10, 0.65, 0.25))
    assert PRESETS["large"] == CohortSpec(10_000, (0.05, 0.85, 0.10))
    assert PRESETS["test"] == CohortSpec(1_000, (0.0, 0.5, 0.5))


def test_preset_overrides_every_field():
    s = preset("test", n_per_class=7, mix=(0.2, 0.4, 0.4), image_size=64, smoothing=True, draw="random")
    assert s == CohortSpec(7, (0.2, 0.4, 0.4), 64, True, "random")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_per_class": 0}, "n_per_class must be an integer >= 1, got n_per_class=0"),
        ({"mix": (0.5, 0.5, 0.5)}, r"summing to 1 .*got mix=\(0.5, 0.5, 0.5\)"),
        ({"mix": (-0.1, 0.6, 0.5)}, "non-negative"),
        ({"mix": (0.5, 0.5)}, "three"),
        ({"image_size": 48}, "multiple of 32.*48"),
        ({"draw": "sometimes"}, "unknown draw mode 'sometimes'; accepted: exact, random"),
        ({"colour": 1}, "unknown CohortSpec field"),
    ],
)
def test_bad_specs_name_the_value(kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        preset("test", **kwargs)


def test_unknown_preset_lists_names():
    with pytest.raises(InvalidArgument, match="accepted: homogeneous, heterogeneous, large, test"):
        preset("small")


@pytest.mark.parametrize(
    ("total", "shares", "expected"),
    [
        (500, (0.05, 0.85, 0.10), [25, 425, 50]),
        (7, (0.05, 0.85, 0.10), [0, 6, 1]),
        (1, (1 / 3, 1 / 3, 1 / 3), [1, 0, 0]),
        (10, (0.0, 0.5, 0.5), [0, 5, 5]),
    ],
)
def test_largest_remainder(total, shares, expected):
    assert largest_remainder(total, shares) == expected


def test_region_boxes_match_methods_at_128():
    assert atypical_box(128).rows == (23, 59) and atypical_box(128).cols == (49, 85)
    assert typical_box(128).rows == (93, 106) and typical_box(128).cols == (54, 80)
    m = region_masks(128)
    assert not (m["rest"] & (m["typical"] | m["atypical"])).any()


@given(spec=cohort_specs(), seed=seeds())
def test_exact_counts_per_label_and_subtype(spec, seed):
    c = make_cohort(spec.replace(draw="exact"), seed)
    expected = largest_remainder(spec.n_per_class, spec.mix)
    assert (c.labels == 0).sum() == (c.labels == 1).sum() == spec.n_per_class
    assert (c.subtypes[c.labels == 0] == 0).all()
    for sub in range(3):
        assert ((c.labels == 1) & (c.subtypes == sub)).sum() == expected[sub]


@given(spec=cohort_specs(n_per_class=st.integers(1, 12)), seed=seeds())
def test_atrophy_shrinks_only_the_subtype_roi(spec, seed):
    c = make_cohort(spec, seed)
    p = c.params
    for roi, atrophied in (*((r, 1) for r in ROI2_ELLIPSES), ("roi1", 2)):
        small = c.subtypes == atrophied
        for s in ("s1", "s2"):
            assert np.all(p[f"{roi}_{s}"][small] <= SMALL[1])
            assert np.all(p[f"{roi}_{s}"][~small] >= LARGE[0])
    # Areas: an atrophied ROI covers at most (0.9/1.0)^2 of its smallest large draw, plus
    # rasterisation slack; controls and error images are never atrophied.
    area_typ = c.typical_masks.sum((1, 2))
    area_atyp = c.atypical_masks.sum((1, 2))
    g = Geometry(spec.image_size)
    small_atyp = np.pi * (g.b / 3 * SMALL[1]) * (g.b / 4 * SMALL[1])
    small_typ = 3 * np.pi * (g.b / 10 * SMALL[1]) ** 2
    for k in range(len(c)):
        if c.subtypes[k] == 2:
            assert area_atyp[k] <= small_atyp + 2 * np.pi * g.b / 3
        if c.subtypes[k] == 1:
            assert area_typ[k] <= small_typ + 6 * np.pi * g.b / 10
    assert np.all(c.subtypes[c.labels == 0] == 0)


@given(spec=cohort_specs(n_per_class=st.integers(1, 10)), seed=seeds())
def test_masks_lie_inside_the_brain_and_values_in_unit_range(spec, seed):
    c = make_cohort(spec, seed)
    n = spec.image_size
    g = Geometry(n)
    rows, cols = np.ogrid[0:n, 0:n]
    for k in range(len(c)):
        o = c.params["brain_offset"][k]
        brain = inside_ellipse(
            rows.astype(float), cols.astype(float), g.c + o / 2, g.c, g.a - o, g.b - o
        )
        assert not (c.typical_masks[k] & ~brain).any()
        assert not (c.atypical_masks[k] & ~brain).any()
        assert c.typical_masks[k].any() and c.atypical_masks[k].any()
    assert c.images.dtype == np.float32 and c.images.shape == (len(c), 1, n, n)
    assert c.images.min() >= 0 and c.images.max() <= 1


@given(spec=cohort_specs(n_per_class=st.integers(1, 10)), seed=seeds())
def test_same_seed_same_bytes_different_seed_different_images(spec, seed):
    a, b = make_cohort(spec, seed), make_cohort(spec, seed)
    assert a.images.tobytes() == b.images.tobytes()
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    c = make_cohort(spec, seed + 1)
    assert not np.array_equal(a.images, c.images)


def test_masks_lie_inside_analytic_boxes():
    c = make_cohort(preset("test", n_per_class=200), 5)
    assert not (c.typical_masks & ~typical_box(128).mask(128)).any()
    assert not (c.atypical_masks & ~atypical_box(128).mask(128)).any()
    assert rest_mask(128).sum() > 0


def test_random_draw_mode_varies_counts_like_clinicadl():
    spec = preset("homogeneous", n_per_class=200, image_size=32, draw="random")
    counts = {tuple(np.bincount(make_cohort(spec, s).subtypes[200:], minlength=3)) for s in range(6)}
    assert len(counts) > 1
    totals = np.array([make_cohort(spec, s).subtypes[200:] for s in range(20)])
    assert abs((totals == 1).mean() - 0.85) < 0.03


def test_subset_and_indices():
    c = make_cohort(preset("test", n_per_class=10, image_size=32), 0)
    idx = c.indices(label=1, subtype=2)
    s = c.subset(idx)
    assert len(s) == 5 and (s.subtypes == 2).all()
    assert s.participant_ids == [c.participant_ids[i] for i in idx]
    assert "AD/atypical=5" in c.summary()

import numpy as np
import pytest

from salcheck.cohort import check_image_size, draw_params, render
from salcheck.cohort.geometry import LARGE, SMALL, Geometry
from salcheck.cohort.phantoms import (
    ATYPICAL_ELLIPSES,
    ROI2_ELLIPSES,
    TYPICAL_ELLIPSES,
    ellipse_table,
)
from salcheck.cohort.reference import reference_render
from salcheck.errors import InvalidArgument


@pytest.mark.parametrize("n", [32, 64, 128])
def test_renderer_matches_skimage_on_hundreds_of_images(n):
    rng = np.random.default_rng(n)
    subtypes = rng.integers(0, 3, 300)
    params = draw_params(rng, subtypes, n)
    ours, reference = render(params, n), reference_render(params, n)
    differ = int((ours != reference).sum())
    assert differ == 0, f"{differ} of {ours.size} pixels differ from skimage.draw.ellipse"


@pytest.mark.parametrize("bad", [0, 16, 31, 100, 130, -32, 64.0, True, "64"])
def test_image_size_must_be_multiple_of_32(bad):
    with pytest.raises(InvalidArgument, match="multiple of 32"):
        check_image_size(bad)


def test_subtype_scales_follow_atrophy():
    rng = np.random.default_rng(0)
    subtypes = np.repeat([0, 1, 2], 200)
    p = draw_params(rng, subtypes, 64)
    rois = [(r, 1) for r in ROI2_ELLIPSES] + [("roi1", 2)]
    for roi, atrophied in rois:
        for s in ("s1", "s2"):
            v = p[f"{roi}_{s}"]
            small = subtypes == atrophied
            assert np.all((v[small] >= SMALL[0]) & (v[small] <= SMALL[1]))
            assert np.all((v[~small] >= LARGE[0]) & (v[~small] <= LARGE[1]))
    assert np.all((p["central_s1"] >= LARGE[0]) & (p["central_s1"] <= LARGE[1]))


def test_rendering_is_pure():
    p = draw_params(np.random.default_rng(3), np.array([0, 1, 2]), 64)
    assert render(p, 64).tobytes() == render(p, 64).tobytes()


def test_smoothing_draws_sigma_scaled_with_n():
    p = draw_params(np.random.default_rng(3), np.zeros(500, int), 64, smoothing=True)
    assert 0 <= p["smoothing_sigma"].min() and p["smoothing_sigma"].max() <= 0.64
    img = render(p, 64)
    assert 0 <= img.min() and img.max() <= 1


def test_geometry_matches_methods_at_128():
    g = Geometry(128)
    assert g.c == 64.5
    assert g.a == 62.5
    assert g.b == pytest.approx(41.0)
    t = ellipse_table(draw_params(np.random.default_rng(0), np.array([0]), 128), 128)[0]
    assert tuple(t[0]) == (64.5, 64.5, 62.5, g.b, 0.0, 1.0)
    assert len(TYPICAL_ELLIPSES) == 3 and len(ATYPICAL_ELLIPSES) == 1


def test_each_typical_ellipse_draws_its_own_parameters():
    """methods.md section 1, item 7: five numbers per ROI-2 ellipse, as ClinicaDL draws them.

    One shared draw would make the three rows of the ellipse table move as a rigid block:
    equal offsets, equal semi-axes and equal rotations in every image.
    """
    rng = np.random.default_rng(7)
    t = ellipse_table(draw_params(rng, np.zeros(1000, int), 64), 64)  # one subtype
    left, middle, right = (t[:, k] for k in TYPICAL_ELLIPSES)
    for col in range(5):  # row, column (minus the shared base), two semi-axes, rotation
        for u, v in ((left, middle), (middle, right), (left, right)):
            a, b = u[:, col], v[:, col]
            assert np.all(a != b), f"column {col}: some images share a draw"
            if col != 1:
                assert abs(np.corrcoef(a, b)[0, 1]) < 0.15, f"column {col} is correlated"

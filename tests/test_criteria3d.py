"""Criteria b, c, b†, c†, the localisation metrics and the null maps on volumes: the 2-D
definitions with the 3-D regions (boxes, brain ellipsoid, drawn ellipsoids)."""

import numpy as np
import pytest
import torch
from scipy.ndimage import sobel

from salcheck.cohort import brain_mask, brain_mask3d, make_cohort3d, preset
from salcheck.cohort.geometry import Geometry
from salcheck.criteria.localisation import pointing_game, relevance_mass_accuracy, roc_auc
from salcheck.criteria.protocol import EvalProtocol
from salcheck.criteria.regions import analytic_regions, group_map_scores, group_regions, separability
from salcheck.errors import InvalidArgument
from salcheck.models.custom import build_network
from salcheck.saliency import RandomMap, VanillaGradient, group_map, subtype_maps
from salcheck.saliency.null import SobelEdgeMap

N = 32


@pytest.fixture(scope="module")
def volumes():
    return make_cohort3d(preset("test", image_size=N, n_per_class=6), seed=2)


@pytest.mark.parametrize("rim", [False, True])
@pytest.mark.parametrize("n", [32, 64])
def test_the_brain_ellipsoid_is_the_2d_brain_on_its_mid_slice_and_shrinks_away_from_it(n, rim):
    m = brain_mask3d(n, rim=rim)
    assert np.array_equal(m[n // 2], brain_mask(n, rim=rim))
    areas = m.sum((1, 2))
    assert areas[n // 2] == areas.max() and areas[0] == 0
    assert np.all(np.diff(areas[: n // 2 + 1]) >= 0)  # grows towards z0
    assert not rim or brain_mask3d(n).sum() < m.sum()  # the skull holds the brain
    g = Geometry(n)
    rz = g.b - (0 if rim else g.max_offset)  # the skull's b, or the smallest brain's b - N/32
    assert (areas > 0).sum() == sum(abs(k - n / 2) < rz for k in range(n))


def test_analytic_regions_of_volumes_are_the_2d_regions_on_the_mid_slice():
    flat, vol = analytic_regions(N), analytic_regions(N, dims=3)
    for name in ("typical", "atypical", "rest"):
        assert vol[name].shape == (N, N, N)
        assert np.array_equal(vol[name][N // 2], flat[name])
    assert not (vol["typical"] & vol["atypical"]).any()
    assert not (vol["rest"] & (vol["typical"] | vol["atypical"])).any()
    with pytest.raises(InvalidArgument, match="dims=4"):
        analytic_regions(N, dims=4)


def test_a_volume_map_bright_in_one_box_scores_its_brightness():
    r = analytic_regions(N, dims=3)
    m = np.ones((N, N, N))
    m[r["typical"]] = 3.0
    assert group_map_scores({"typical": m}) == pytest.approx({"b": 3.0, "c": 3.0})
    m = np.ones((N, N, N))
    m[r["atypical"]] = 2.0
    assert group_map_scores({"atypical": m}) == pytest.approx({"b_dagger": 2.0, "c_dagger": 2.0})
    assert separability(np.ones((N, N, N))) == 1.0
    with pytest.raises(InvalidArgument, match=r"cubic \[N, N, N\].*\(32, 32, 16\)"):
        separability(np.ones((N, N, 16)))


def test_drawn_regions_of_volumes_are_the_members_ellipsoids(volumes):
    members = volumes.indices(label=1, subtype=1)
    r = group_regions(volumes, members, EvalProtocol(regions="drawn"))
    typ = volumes.subset(members).typical_masks.any(0)
    assert r["typical"].shape == (N, N, N) and np.array_equal(r["typical"], typ)
    assert not (r["rest"] & (r["typical"] | r["atypical"])).any()
    assert r["rest"].sum() > 0


def test_localisation_metrics_read_volume_masks():
    masks = np.zeros((2, N, N, N), bool)
    masks[:, 10:14, 10:14, 10:14] = True
    maps = masks[:, None].astype(float)  # [n, 1, N, N, N]: all relevance in the mask
    assert relevance_mass_accuracy(maps, masks).tolist() == [1.0, 1.0]
    assert roc_auc(maps, masks).tolist() == [1.0, 1.0]
    assert pointing_game(maps, masks).tolist() == [1.0, 1.0]
    assert relevance_mass_accuracy(np.ones((2, N, N, N)), masks) == pytest.approx(64 / N**3)


def test_the_sobel_null_of_a_volume_is_scipys_sobel_magnitude():
    x = torch.rand(2, 1, N, N, N, generator=torch.Generator().manual_seed(0))
    m = SobelEdgeMap().attribute_batch(None, x, 0)
    for i in range(2):
        v = x[i, 0].double().numpy()
        ref = np.sqrt(sum(sobel(v, axis=a, mode="constant") ** 2 for a in range(3)))
        np.testing.assert_allclose(m[i, 0].numpy(), ref, atol=1e-4)


def test_group_maps_of_volumes_from_a_3d_network(volumes):
    model = build_network("convnet", N, dims=3, generator=torch.Generator().manual_seed(0)).eval()
    maps = subtype_maps(VanillaGradient(), model, volumes)
    assert maps["typical"].shape == (len(volumes.indices(label=1, subtype=1)), N, N, N)
    groups = {g: group_map(m) for g, m in maps.items()}
    assert groups["atypical"].shape == (N, N, N)
    assert np.array_equal(group_map(maps["typical"][:, None]), groups["typical"])  # [n, 1, ...]
    scores = group_map_scores(groups)
    assert set(scores) == {"b", "c", "b_dagger", "c_dagger"}
    assert all(np.isfinite(v) and v > 0 for v in scores.values())
    noise = {g: group_map(m) for g, m in subtype_maps(RandomMap(seed=1), model, volumes).items()}
    assert group_map_scores(noise)["b"] == pytest.approx(1.0, abs=0.35)  # chance

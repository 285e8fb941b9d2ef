"""3-D phantoms: the mid-slice is the 2-D phantom, masks and boxes hold the ROIs, atrophy shrinks
the right ROI, seeding, npz round trip, errors, subtype counts. Fast: volumes of 32^3 (64^3 once)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from salcheck.cohort import make_cohort, preset, render
from salcheck.cohort.geometry import LARGE, SMALL, Geometry, atypical_box, typical_box
from salcheck.cohort.phantoms import PARAM_NAMES, ROI2_ELLIPSES
from salcheck.cohort.phantoms3d import (
    PARAM_NAMES_3D,
    PARAM_NAMES_3D_ONLY,
    Cohort3D,
    atypical_box3d,
    check_volume_size,
    draw_params3d,
    ellipsoid_table,
    load3d,
    make_cohort3d,
    masks3d,
    reference_render3d,
    render3d,
    save3d,
    typical_box3d,
)
from salcheck.errors import InvalidArgument

N = 32


def _params(seed: int, subtypes, n: int = N) -> dict[str, np.ndarray]:
    return draw_params3d(np.random.default_rng(seed), np.asarray(subtypes), n)


@pytest.mark.parametrize(("n", "count"), [(32, 150), (64, 12)])
def test_the_mid_slice_is_the_2d_render_bit_for_bit(n, count):
    p = _params(n, np.arange(count) % 3, n)
    volumes = render3d(p, n)
    assert volumes.shape == (count, 1, n, n, n) and volumes.dtype == np.float32
    mid = volumes[:, :, n // 2]
    assert mid.tobytes() == render(p, n).tobytes()
    assert not np.array_equal(volumes[:, :, n // 2 - 2], mid)  # the other slices are not copies


def test_a_3d_cohort_has_the_parameters_and_mid_slices_of_the_2d_cohort():
    spec = preset("heterogeneous", image_size=N, n_per_class=10)
    c3, c2 = make_cohort3d(spec, seed=5), make_cohort(spec, seed=5)
    assert c3.subtypes.tolist() == c2.subtypes.tolist() and c3.labels.tolist() == c2.labels.tolist()
    assert list(c3.params) == list(PARAM_NAMES_3D)
    for k in PARAM_NAMES:
        assert c3.params[k].tobytes() == c2.params[k].tobytes(), k
    assert c3.volumes[:, :, N // 2].tobytes() == c2.images.tobytes()


def test_render_matches_the_per_voxel_reference():
    p = _params(1, [0, 1, 2])
    g = Geometry(N)
    slices = [0, 5, 9, 12, 15, 16, 17, 20, 24, N // 2 + int(g.b), N - 1]  # cuts near each pole too
    ours = render3d(p, N)[:, 0][:, slices]
    reference = reference_render3d(p, N, slices=slices)
    assert int((ours != reference).sum()) == 0


def test_one_phantoms_scalars_give_one_volume_and_its_masks():
    p = _params(2, [1, 2])
    one = {k: v[1] for k, v in p.items()}
    assert render3d(one, N).tobytes() == render3d(p, N)[1, 0].tobytes()
    m1, m = masks3d(one, N), masks3d(p, N)
    assert all(m1[k].shape == (N, N, N) and np.array_equal(m1[k], m[k][1]) for k in m)


def test_each_ellipsoid_reaches_its_z_semi_axis_and_no_further():
    p = _params(3, np.arange(30) % 3)
    table = ellipsoid_table(p, N)
    volumes = render3d(p, N)[:, 0]
    masks = masks3d(p, N)
    z = np.arange(N)[None, :] - N / 2
    for name, e in (("brain", 1), ("central", 2), ("atypical", 3)):
        present = masks[name].any(axis=(2, 3))  # [B, N]: slices the footprint reaches
        allowed = np.abs(z) < table[:, e, 7][:, None]
        assert not (present & ~allowed).any() and present[:, N // 2].all(), name
        if name == "brain":  # large enough that every cut it makes holds voxels
            assert np.array_equal(present, allowed)
    skull = (volumes > 0).any(axis=(2, 3))
    assert not (skull & (np.abs(z) >= Geometry(N).b)).any()
    g = Geometry(N)
    assert np.allclose(table[:, 0, 7], g.b) and np.allclose(table[:, 3, 7], g.b / 4 * p["roi1_s3"])


def test_masks_lie_inside_the_brain_and_inside_the_analytic_boxes():
    p = _params(4, np.arange(60) % 3)
    m = masks3d(p, N)
    for name in ("central", "atypical", "typical"):
        per_volume = m[name].sum(axis=(1, 2, 3))
        assert (per_volume > 0).all(), f"an empty {name} footprint"
        assert not (m[name] & ~m["brain"]).any(), f"{name} leaves the brain"
    assert not (m["typical"].any(0) & ~typical_box3d(N).mask(N)).any()
    assert not (m["atypical"].any(0) & ~atypical_box3d(N).mask(N)).any()


@pytest.mark.parametrize("n", [32, 64, 128])
def test_boxes_extend_the_2d_boxes_along_z(n):
    g = Geometry(n)
    for box3, box2, reach in (
        (typical_box3d(n), typical_box(n), 1.2 * g.b / 10),
        (atypical_box3d(n), atypical_box(n), 1.2 * g.b / 4),
    ):
        assert (box3.rows, box3.cols) == (box2.rows, box2.cols)
        assert box3.z == (round(n / 2 - reach), round(n / 2 + reach))
        assert np.array_equal(box3.mask(n)[n // 2], box2.mask(n))


def _grey_support(volumes: np.ndarray, p: dict[str, np.ndarray], box: np.ndarray) -> np.ndarray:
    """Voxels at the grey level (ROIs and central ellipsoid, after the ventricles) in ``box``."""
    grey = volumes[:, 0] == p["color"].astype(np.float32)[:, None, None, None]
    return (grey & box).sum(axis=(1, 2, 3))


@pytest.mark.parametrize(
    ("subtype", "shrinks", "kept"), [(1, "typical", "atypical"), (2, "atypical", "typical")]
)
def test_atrophy_shrinks_the_subtypes_roi_and_not_the_other(subtype, shrinks, kept):
    """Paired draws: the same stream with every image control (0) or atrophied (``subtype``)
    differs only in the atrophied ROI's factors, so its support must shrink image by image."""
    count = 40
    p0, p1 = _params(6, np.zeros(count, int)), _params(6, np.full(count, subtype))
    v0, v1 = render3d(p0, N), render3d(p1, N)
    m0, m1 = masks3d(p0, N), masks3d(p1, N)
    boxes = {"typical": typical_box3d(N).mask(N), "atypical": atypical_box3d(N).mask(N)}
    g0, g1 = _grey_support(v0, p0, boxes[shrinks]), _grey_support(v1, p1, boxes[shrinks])
    assert (g1 <= g0).all() and g1.sum() < 0.85 * g0.sum()
    k0, k1 = _grey_support(v0, p0, boxes[kept]), _grey_support(v1, p1, boxes[kept])
    assert np.array_equal(k0, k1)
    assert not (m1[shrinks] & ~m0[shrinks]).any()  # nested: same centres, smaller semi-axes
    assert m1[shrinks].sum() < 0.8 * m0[shrinks].sum()
    assert np.array_equal(m1[kept], m0[kept]) and np.array_equal(m1["central"], m0["central"])


def test_the_z_factors_follow_the_subtype():
    subtypes = np.repeat([0, 1, 2], 100)
    p = _params(7, subtypes)
    for roi, atrophied in [*((r, 1) for r in ROI2_ELLIPSES), ("roi1", 2), ("central", -1)]:
        v, small = p[f"{roi}_s3"], subtypes == atrophied
        assert ((v[small] >= SMALL[0]) & (v[small] <= SMALL[1])).all(), roi
        assert ((v[~small] >= LARGE[0]) & (v[~small] <= LARGE[1])).all(), roi
    assert PARAM_NAMES_3D[-len(PARAM_NAMES_3D_ONLY) :] == PARAM_NAMES_3D_ONLY


def test_same_seed_same_bytes_and_another_seed_other_bytes():
    spec = preset("test", image_size=N, n_per_class=3)
    a, b, c = make_cohort3d(spec, 11), make_cohort3d(spec, 11), make_cohort3d(spec, 12)
    assert a.volumes.tobytes() == b.volumes.tobytes()
    assert all(a.params[k].tobytes() == b.params[k].tobytes() for k in PARAM_NAMES_3D)
    assert a.volumes.tobytes() != c.volumes.tobytes()
    assert a.params["roi1_s3"].tobytes() != c.params["roi1_s3"].tobytes()
    rng = np.random.default_rng(11)  # a generator is accepted too, and is the same stream
    assert make_cohort3d(spec, rng).volumes.tobytes() == a.volumes.tobytes()


def test_npz_round_trip_is_bit_identical(tmp_path):
    c = make_cohort3d(preset("heterogeneous", image_size=N, n_per_class=4, smoothing=True), seed=3)
    path = save3d(c, tmp_path / "c.npz")
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]  # no temporary file left behind
    back = load3d(path)
    for name in ("volumes", "labels", "subtypes"):
        x, y = getattr(c, name), getattr(back, name)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name
    assert list(back.params) == list(PARAM_NAMES_3D)
    for k in PARAM_NAMES_3D:
        assert (
            c.params[k].dtype == back.params[k].dtype
            and c.params[k].tobytes() == back.params[k].tobytes()
        )
    assert (back.spec, back.seed, back.participant_ids) == (c.spec, c.seed, c.participant_ids)
    assert np.array_equal(back.typical_masks, c.typical_masks)
    with pytest.raises(InvalidArgument, match="exists; pass overwrite=True"):
        save3d(c, path)
    save3d(c.subset(np.array([0, 5])), path, overwrite=True)
    assert len(load3d(path)) == 2


def test_a_damaged_or_foreign_file_is_refused(tmp_path):
    c = make_cohort3d(preset("test", image_size=N, n_per_class=1), seed=0)
    data = save3d(c, tmp_path / "c.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidArgument, match="not a readable salcheck 3-D cohort"):
        load3d(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", meta=np.array('{"format": "x", "format_version": 1}'))
    with pytest.raises(InvalidArgument, match="'salcheck-cohort3d' version 1"):
        load3d(tmp_path / "other.npz")
    with pytest.raises(InvalidArgument, match="no 3-D cohort at"):
        load3d(tmp_path / "missing.npz")


@pytest.mark.parametrize("bad", [0, 16, 31, 40, 100, -32, 64.0, True, "64"])
def test_volume_size_must_be_a_multiple_of_32(bad):
    with pytest.raises(InvalidArgument, match=r"n must be a multiple of 32 and >= 32 .*got n="):
        check_volume_size(bad)
    with pytest.raises(InvalidArgument, match="multiple of 32"):
        render3d(_params(0, [0]), bad)


def test_bad_inputs_name_the_value_and_what_is_accepted(tmp_path):
    with pytest.raises(InvalidArgument, match=r"mix must be three non-negative shares .* got mix="):
        make_cohort3d(preset("test", image_size=N, n_per_class=2, mix=(0.5, 0.6, 0.0)), 0)
    with pytest.raises(
        InvalidArgument, match=r"subtypes must be a 1-D array of 0, 1 or 2, got \[0, 3\]"
    ):
        draw_params3d(np.random.default_rng(0), np.array([0, 3]), N)
    p = _params(0, [0, 1])
    with pytest.raises(InvalidArgument, match=r"params lack \['roi1_s3'\]"):
        render3d({k: v for k, v in p.items() if k != "roi1_s3"}, N)
    with pytest.raises(InvalidArgument, match="must all be scalars or all 1-D of one length"):
        render3d({**p, "color": p["color"][:1]}, N)
    with pytest.raises(InvalidArgument, match=r"would take 15\.6 GiB .* over max_gib=4\.0"):
        make_cohort3d(preset("test", image_size=128), 0)
    with pytest.raises(InvalidArgument, match="seed must be a non-negative int"):
        make_cohort3d(preset("test", image_size=N, n_per_class=1), -1)
    c = make_cohort3d(preset("test", image_size=N, n_per_class=1), 0)
    with pytest.raises(InvalidArgument, match=r"path must end in \.npz, got"):
        save3d(c, tmp_path / "c.pt")
    with pytest.raises(InvalidArgument, match=r"volumes must be shaped \[B, 1, N, N, N\]"):
        Cohort3D(c.volumes[:, 0], c.labels, c.subtypes, c.params)
    with pytest.raises(InvalidArgument, match=r"params \['color'\] are missing or not shaped \(2,\)"):
        Cohort3D(c.volumes, c.labels, c.subtypes, {**c.params, "color": np.zeros(3)})


@pytest.mark.parametrize(
    ("name", "n_per_class", "atrophied"),
    [
        # errors / typical / atypical by largest remainder, worked out by hand:
        ("heterogeneous", 7, (1, 4, 2)),  # quotas 0.7, 4.55, 1.75: floors 0, 4, 1 + .75 and .7
        ("homogeneous", 20, (1, 17, 2)),  # quotas 1, 17, 2: exact
        ("test", 5, (0, 3, 2)),  # quotas 0, 2.5, 2.5: the tie goes to the earlier share
    ],
)
def test_subtype_counts_follow_the_preset_shares(name, n_per_class, atrophied):
    c = make_cohort3d(preset(name, image_size=N, n_per_class=n_per_class), seed=0)
    expected = {(0, 0): n_per_class, **{(1, s): k for s, k in enumerate(atrophied) if k}}
    assert c.counts() == expected
    assert c.summary().startswith(f"{2 * n_per_class} volumes of 32^3: CN/none={n_per_class}")
    assert c.indices(label=1, subtype=2).tolist() == list(
        range(2 * n_per_class - atrophied[2], 2 * n_per_class)
    )


def test_random_draw_mode_and_smoothing():
    spec = preset("heterogeneous", image_size=N, n_per_class=6, draw="random", smoothing=True)
    c = make_cohort3d(spec, seed=1)
    assert (c.labels == 1).sum() == 6 and set(c.subtypes[c.labels == 1].tolist()) <= {0, 1, 2}
    assert (c.params["smoothing_sigma"] > 0).all()
    assert 0 <= c.volumes.min() and c.volumes.max() <= 1
    sharp = render3d({**c.params, "smoothing_sigma": np.zeros(len(c))}, N)
    assert not np.array_equal(sharp, c.volumes)
    assert np.allclose(sharp.sum(axis=(2, 3, 4)), c.volumes.sum(axis=(2, 3, 4)), rtol=1e-3)


def test_chunks_and_progress_do_not_change_the_bytes():
    p = _params(8, np.arange(5) % 3)
    seen: list[int] = []
    assert render3d(p, N, chunk=2, progress=seen.append).tobytes() == render3d(p, N).tobytes()
    assert seen == [2, 2, 1]
    with pytest.raises(InvalidArgument, match="chunk must be an integer >= 1, got chunk=0"):
        render3d(p, N, chunk=0)
    with pytest.raises(
        InvalidArgument, match=r"out must be a C-contiguous float32 array \[5, 1, 32, 32, 32\]"
    ):
        render3d(p, N, out=np.empty((5, 1, N, N, N), np.float64))

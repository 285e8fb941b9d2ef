import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from salcheck.errors import InvalidArgument
from salcheck.training.augment import Compose, CropPad, Erasing, Noise, Smoothing, shift


def batch(n=16, size=64, seed=0):
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


def gen(seed=1):
    return torch.Generator().manual_seed(seed)


def test_smoothing_equals_scipy_gaussian_filter():
    x = batch()
    s = Smoothing()
    params = s.make_params(x, gen())
    y = s.apply(x, params)
    for i in range(len(x)):
        ref = gaussian_filter(x[i, 0].double().numpy(), float(params["sigma"][i]))
        np.testing.assert_allclose(y[i, 0].numpy(), ref, atol=1e-5)
    assert ((params["sigma"] >= 0) & (params["sigma"] <= 1)).all()


@pytest.mark.parametrize("size", [64, 128])
def test_smoothing_sigma_scales_with_image_size(size):
    sigma = Smoothing().make_params(batch(n=400, size=size), gen())["sigma"]
    top = size / 128  # ClinicaDL's 1 pixel at 128 x 128
    assert float(sigma.min()) >= 0 and float(sigma.max()) <= top
    assert float(sigma.max()) > 0.95 * top


def test_croppad_is_an_exact_integer_shift_with_zero_fill():
    x = batch(size=128)
    c = CropPad()
    params = c.make_params(x, gen())
    y = c.apply(x, params)
    shifts = params["shifts"]
    assert shifts.min() >= -10 and shifts.max() <= 9
    for i, (dr, dc) in enumerate(shifts.tolist()):
        ref = np.zeros((128, 128), np.float32)
        src = x[i, 0].numpy()
        for r in range(128):
            for col in range(128):
                if 0 <= r - dr < 128 and 0 <= col - dc < 128:
                    ref[r, col] = src[r - dr, col - dc]
        assert np.array_equal(y[i, 0].numpy(), ref)


def test_croppad_range_scales_with_image_size():
    params = CropPad().make_params(batch(n=400, size=64), gen())
    assert params["shifts"].min() == -5 and params["shifts"].max() == 4


def test_shift_by_zero_is_identity():
    x = batch(n=1)[0]
    assert torch.equal(shift(x, 0, 0), x)


def test_erasing_fires_on_about_half_with_areas_in_range():
    x = torch.ones(2000, 1, 64, 64)
    e = Erasing()
    params = e.make_params(x, gen())
    y = e.apply(x, params)
    on = params["boxes"][:, 0] == 1
    assert 0.45 < on.float().mean() < 0.55
    erased = (y == 0).float().mean((1, 2, 3))
    assert (erased[~on] == 0).all()
    # rounding of h and w lets the area stray slightly beyond (0.02, 0.33)
    assert erased[on].min() >= 0.015 and erased[on].max() <= 0.36
    h, w = params["boxes"][on, 3].float(), params["boxes"][on, 4].float()
    assert (h / w).min() >= 0.3 * 0.8 and (h / w).max() <= 3.3 * 1.25


def test_noise_sigma_lies_in_range_and_matches_residual():
    x = torch.zeros(64, 1, 64, 64)
    n = Noise()
    params = n.make_params(x, gen())
    y = n.apply(x, params)
    sigma = params["sigma"]
    assert sigma.min() >= 0 and sigma.max() <= 0.1
    np.testing.assert_allclose(y.std((1, 2, 3)).numpy(), sigma.numpy(), rtol=0.05, atol=1e-3)


def test_compose_applies_in_order_and_records_history():
    x = batch()
    c = Compose(["Noise", "CropPad"])
    y1 = c(x, gen(5), record=True)
    assert [h.name for h in c.history] == ["Noise", "CropPad"]
    replay = CropPad().apply(Noise().apply(x, c.history[0].params), c.history[1].params)
    assert torch.equal(y1, replay)
    assert torch.equal(Compose(["Noise", "CropPad"])(x, gen(5)), y1)


def test_unknown_augmentation_lists_names():
    with pytest.raises(InvalidArgument, match="unknown augmentation 'Flip'; accepted: CropPad"):
        Compose(["Flip"])


# --- volumes: each augmentation in its 3-D form ---------------------------------------------


def volumes(n=6, size=32, seed=0):
    return torch.rand(n, 1, size, size, size, generator=torch.Generator().manual_seed(seed))


def test_smoothing_of_volumes_equals_scipy_gaussian_filter():
    x = volumes()
    s = Smoothing()
    params = s.make_params(x, gen())
    y = s.apply(x, params)
    for i in range(len(x)):
        ref = gaussian_filter(x[i, 0].double().numpy(), float(params["sigma"][i]))
        np.testing.assert_allclose(y[i, 0].numpy(), ref, atol=1e-5)


def test_croppad_of_volumes_shifts_all_three_axes_with_zero_fill():
    x = volumes(size=32)
    params = CropPad().make_params(x, gen())
    assert params["shifts"].shape == (6, 3)
    assert params["shifts"].min() >= -2 and params["shifts"].max() <= 1  # m = round(10 * 32 / 128)
    y = CropPad().apply(x, params)
    for i, (dz, dr, dc) in enumerate(params["shifts"].tolist()):
        src = x[i, 0].numpy()
        ref = np.zeros_like(src)
        n = 32
        ref[max(0, dz) : n + min(0, dz), max(0, dr) : n + min(0, dr), max(0, dc) : n + min(0, dc)] = src[
            max(0, -dz) : n - max(0, dz), max(0, -dr) : n - max(0, dr), max(0, -dc) : n - max(0, dc)
        ]
        assert np.array_equal(y[i, 0].numpy(), ref)


def test_erasing_of_volumes_zeroes_one_cuboid_of_the_drawn_volume_fraction():
    x = torch.ones(400, 1, 32, 32, 32)
    e = Erasing()
    params = e.make_params(x, gen())
    boxes = params["boxes"]
    assert boxes.shape == (400, 7)  # erased, front, top, left, depth, height, width
    on = boxes[:, 0] == 1
    assert 0.4 < on.float().mean() < 0.6
    y = e.apply(x, params)
    for i in torch.nonzero(on).flatten()[:50].tolist():
        _, f, t, left, d, h, w = boxes[i].tolist()
        zero = y[i, 0] == 0
        assert int(zero.sum()) == d * h * w and bool(zero[f : f + d, t : t + h, left : left + w].all())
        assert 0.02 * 32**3 * 0.8 <= d * h * w <= 0.33 * 32**3 * 1.25  # rounding of three sides
    assert torch.equal(y[~on], x[~on])


def test_noise_on_volumes_draws_one_sigma_per_volume():
    x = torch.zeros(4, 1, 32, 32, 32)
    params = Noise().make_params(x, gen())
    y = Noise().apply(x, params)
    sd = y.reshape(4, -1).std(1)
    np.testing.assert_allclose(sd.numpy(), params["sigma"].numpy(), rtol=0.05, atol=1e-3)

"""The 3-D ConvNet: shapes, a loss that back-propagates, seeding, features, gradient maps of
volumes, bad input (volumes of 32^3, a few of them)."""

import pytest
import torch
from torch import nn

from salcheck.cohort import make_cohort3d, preset
from salcheck.errors import InvalidArgument
from salcheck.models.networks import ConvNet, weights_bytes
from salcheck.models.networks3d import ConvNet3D, build_model3d
from salcheck.saliency import VanillaGradient

N = 32


def seeded(seed: int, image_size: int = N) -> ConvNet3D:
    return build_model3d(image_size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def cohort():
    return make_cohort3d(preset("test", image_size=N, n_per_class=2), seed=0)


@pytest.fixture(scope="module")
def volumes(cohort):
    return torch.from_numpy(cohort.volumes)


def test_forward_shape_and_a_finite_loss_backward(cohort, volumes):
    model = seeded(0).train()
    logits = model(volumes)
    assert logits.shape == (len(volumes), 2)
    loss = nn.functional.cross_entropy(logits, torch.as_tensor(cohort.labels, dtype=torch.long))
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads)
    assert any(bool(g.abs().sum() > 0) for g in grads if g is not None)


def test_the_blocks_are_convnets_in_3d():
    flat = [type(m).__name__.replace("2d", "") for m in ConvNet(N).modules()][1:]
    deep = [type(m).__name__.replace("3d", "") for m in ConvNet3D(N).modules()][1:]
    assert deep == flat
    widths = [m.out_channels for m in ConvNet3D(N).modules() if isinstance(m, nn.Conv3d)]
    assert widths == [m.out_channels for m in ConvNet(N).modules() if isinstance(m, nn.Conv2d)]


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    assert weights_bytes(seeded(3)) == weights_bytes(seeded(3))
    assert weights_bytes(seeded(3)) != weights_bytes(seeded(4))


def test_building_draws_nothing_from_the_global_generator():
    state = torch.get_rng_state()
    seeded(1)
    assert torch.equal(torch.get_rng_state(), state)


def test_features_are_the_last_block(volumes):
    model = seeded(0).eval()
    with torch.no_grad():
        feats = model.features(volumes)
    assert feats.shape == (len(volumes), 64, N // 32, N // 32, N // 32)


def test_vanilla_gradient_maps_volumes(volumes):
    model = seeded(0)
    maps = VanillaGradient(batch_size=3).attribute(model, volumes)
    assert maps.shape == volumes.shape
    assert maps.dtype == torch.float32
    assert bool(maps.abs().sum() > 0)
    assert model.training  # handed back in the mode it was found in


@pytest.mark.parametrize("bad", [0, 16, 48, 33, 64.0, True])
def test_a_bad_size_is_refused_naming_it(bad):
    with pytest.raises(InvalidArgument, match=rf"multiple of 32 and >= 32, got image_size={bad!r}"):
        build_model3d(bad, generator=torch.Generator())


@pytest.mark.parametrize(
    "shape", [(1, N, N, N), (1, 1, N, N), (1, 1, 64, 64, 64), (1, 2, N, N, N), (1, 1, N, N, 31)]
)
def test_volumes_of_another_shape_are_refused(shape):
    model = seeded(0)
    msg = rf"takes volumes shaped \[B, 1, {N}, {N}, {N}\], got {tuple(shape)}".replace("(", r"\(")
    msg = msg.replace(")", r"\)")
    with pytest.raises(InvalidArgument, match=msg):
        model(torch.zeros(shape))
    with pytest.raises(InvalidArgument, match=msg):
        model.features(torch.zeros(shape))


def test_saliency_refuses_a_rank_that_is_neither_images_nor_volumes():
    msg = r"volumes shaped \[B, C, D, H, W\] or images shaped \[B, C, H, W\], got \(1, 32, 32\)"
    with pytest.raises(InvalidArgument, match=msg):
        VanillaGradient().attribute(seeded(0), torch.zeros(1, N, N))

"""MONAI's networks and saliency methods, judged like the study's (skipped without MONAI)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("monai", reason="MONAI is optional: pip install 'salcheck[monai]'")

from captum.attr import LayerGradCam

from salcheck.errors import InvalidArgument, SilentEquivalenceWarning
from salcheck.models.custom import build_network, network_fingerprint
from salcheck.models.monai_nets import MONAI_NETWORKS
from salcheck.models.networks import trainable_layers
from salcheck.saliency import GuidedBackprop, VanillaGradient
from salcheck.saliency.captum_adapter import last_conv
from salcheck.saliency.catalogue import build_method
from salcheck.saliency.resolve import resolve

NETWORKS = [f"monai:{n}" for n in MONAI_NETWORKS]


@pytest.fixture(scope="module")
def images():
    return torch.rand(5, 1, 32, 32, generator=torch.Generator().manual_seed(1))


def net(name, seed=0, size=32):
    return build_network(name, size, generator=torch.Generator().manual_seed(seed)).eval()


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("size", [32, 64])
def test_monai_networks_give_logits_and_features_at_every_size(name, size):
    m = net(name, size=size)
    x = torch.rand(3, 1, size, size)
    assert m(x).shape == (3, 2)
    features = m.features(x)
    assert features.shape[0] == 3 and features.shape[-1] == size // 32


@pytest.mark.parametrize("name", NETWORKS)
def test_monai_networks_are_drawn_from_the_generator_alone(name):
    before = torch.random.get_rng_state()
    a, b, c = net(name, 5), net(name, 5), net(name, 6)
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # bit-identical: nothing left undrawn
    first = next(k for k in sa if k.endswith("weight"))
    assert not torch.equal(sa[first], sc[first])
    every = {id(p) for p in a.parameters()}
    assert every == {id(p) for _, layer in trainable_layers(a) for p in layer.parameters()}


def test_each_monai_network_has_its_own_identity():
    prints = {n: network_fingerprint(n, 32) for n in NETWORKS}
    assert len(set(prints.values())) == len(NETWORKS)
    assert network_fingerprint("monai:ResNet10@layer3", 32) != prints["monai:ResNet10"]
    with pytest.raises(
        InvalidArgument, match="unknown MONAI network 'DenseNet999'; accepted: DenseNet121"
    ):
        network_fingerprint("monai:DenseNet999", 32)


def test_monai_methods_are_fingerprinted_with_monais_version():
    import monai

    ref = resolve("monai-smoothgrad")
    assert ref.cacheable and ref.tag("signed") is False and ref.tag("deterministic") is True
    assert resolve("monai-grad-cam").tag("signed") is False
    assert resolve("monai-guided-backprop").tag("signed") is True
    from salcheck.fingerprint import code_id as _code_id

    assert _code_id(ref.method.monai_cls) == f"monai {monai.__version__}"


def test_monai_guided_backprop_is_the_gradient_on_leaky_relu_and_warns(images):
    convnet = net("convnet")
    with pytest.warns(SilentEquivalenceWarning, match="ConvNet's LeakyReLU layers are named otherwise"):
        maps = build_method("monai-guided-backprop").attribute(convnet, images)
    assert torch.equal(maps, VanillaGradient().attribute(convnet, images))


def test_monai_guided_backprop_misses_monais_own_resnet(images):
    resnet = net("monai:ResNet10")
    with pytest.warns(SilentEquivalenceWarning, match="ResNet's ReLU layers are named otherwise"):
        maps = build_method("monai-guided-backprop").attribute(resnet, images)
    assert torch.equal(maps, VanillaGradient().attribute(resnet, images))
    assert not torch.allclose(GuidedBackprop().attribute(resnet, images), maps)


def test_monai_guided_backprop_applies_where_relus_are_named_relu(images):
    densenet = net("monai:DenseNet121")
    maps = build_method("monai-guided-backprop").attribute(densenet, images)  # no warning
    assert not torch.allclose(maps, VanillaGradient().attribute(densenet, images))
    assert torch.allclose(maps, GuidedBackprop().attribute(densenet, images), atol=1e-7)


def test_monai_grad_cam_is_scaled_to_0_1_reversed(images):
    convnet = net("convnet", seed=2)
    maps = build_method("monai-grad-cam").attribute(convnet, images, 0)
    raw = LayerGradCam(convnet, last_conv(convnet)).attribute(images, target=0, relu_attributions=True)
    raw = F.interpolate(raw, size=(32, 32), mode="bilinear", align_corners=False)
    lo, hi = (raw.flatten(1).amin(1).view(-1, 1, 1, 1), raw.flatten(1).amax(1).view(-1, 1, 1, 1))
    assert (hi > lo).all()
    assert torch.allclose(maps, (hi - raw) / (hi - lo), atol=1e-6)  # the largest value becomes 0
    assert not any(
        h for m in convnet.modules() for h in (*m._forward_hooks.values(), *m._backward_hooks.values())
    )


def test_monai_smoothgrad_is_seeded_per_image(images):
    convnet = net("convnet")
    before, numpy_before = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    a = build_method("monai-smoothgrad", seed=0).attribute(convnet, images)
    one_by_one = build_method("monai-smoothgrad", seed=0)
    one_by_one.batch_size = 2
    assert torch.equal(a, one_by_one.attribute(convnet, images))
    assert not torch.equal(a, build_method("monai-smoothgrad", seed=1).attribute(convnet, images))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert np.array_equal(np.random.get_state()[1], numpy_before)
    assert (a >= 0).all()


def test_monai_cam_needs_a_convolution(images):
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 32, 2))
    with pytest.raises(InvalidArgument, match="no Conv2d or Conv3d layer for a class activation map"):
        build_method("monai-grad-cam").attribute(linear, images)


# --- volumes: MONAI's networks with spatial_dims=3 ------------------------------------------

SMALL_3D = ["monai:DenseNetSmall", "monai:Classifier", "monai:ResNet10"]


@pytest.mark.parametrize("name", SMALL_3D)
def test_monai_networks_take_volumes_drawn_from_the_seed(name):
    build = lambda seed: build_network(name, 32, dims=3, generator=torch.Generator().manual_seed(seed))
    a, b, c = build(0).eval(), build(0).eval(), build(1).eval()
    assert any(isinstance(m, torch.nn.Conv3d) for m in a.modules())
    x = torch.rand(2, 1, 32, 32, 32, generator=torch.Generator().manual_seed(2))
    assert a(x).shape == (2, 2) and a.features(x).shape[0] == 2
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    with pytest.raises(InvalidArgument, match="accepted for volumes"):
        build_network("conv5_fc3", 32, dims=3, generator=torch.Generator())


def test_a_network_for_volumes_has_its_own_fingerprint():
    assert network_fingerprint("monai:Classifier", 32, 3) != network_fingerprint("monai:Classifier", 32)


@pytest.mark.slow
def test_a_monai_network_trains_on_a_volume_cohort():
    from salcheck.cohort import make_cohort3d, preset
    from salcheck.training import TrainConfig, train

    cohort = make_cohort3d(preset("homogeneous", n_per_class=6, image_size=32), 0)
    trained = train(cohort, TrainConfig(model="monai:Classifier", epochs=1), 0)
    assert len(trained.history) == 1 and np.isfinite(trained.history[0]["train_loss"])
    assert any(isinstance(m, torch.nn.Conv3d) for m in trained.model.modules())

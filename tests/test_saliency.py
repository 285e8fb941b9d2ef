import numpy as np
import pytest
import torch
from captum.attr import Saliency

from salcheck.cohort import make_cohort, preset
from salcheck.errors import InvalidArgument
from salcheck.models import build_model
from salcheck.saliency import (
    ConstantMap,
    RandomMap,
    SaliencyMethod,
    SobelEdgeMap,
    VanillaGradient,
    group_map,
    subtype_maps,
)
from salcheck.saliency.captum_adapter import CaptumMethod, captum_methods


@pytest.fixture(scope="module")
def model():
    return build_model("convnet", 32, generator=torch.Generator().manual_seed(0)).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(7, 1, 32, 32, generator=torch.Generator().manual_seed(1))


ALL = [VanillaGradient(), RandomMap(), SobelEdgeMap(), ConstantMap(), *captum_methods()]


@pytest.mark.parametrize("method", ALL, ids=lambda m: m.name)
def test_maps_are_shaped_like_images_deterministic_and_finite(method, model, images):
    before = torch.random.get_rng_state()
    a = method.attribute(model, images)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert a.shape == images.shape and a.dtype == torch.float32
    assert torch.isfinite(a).all()
    assert torch.equal(a, method.attribute(model, images))


@pytest.mark.parametrize(
    "method", [VanillaGradient(batch_size=2), RandomMap(batch_size=3)], ids=lambda m: m.name
)
def test_batch_size_does_not_change_maps(method, model, images):
    ref = type(method)(batch_size=64).attribute(model, images)
    assert torch.allclose(method.attribute(model, images), ref, atol=1e-7)


def test_vanilla_gradient_is_the_controls_logit_gradient(model, images):
    x = images.clone().requires_grad_(True)
    model(x)[:, 0].sum().backward()
    assert torch.allclose(VanillaGradient().attribute(model, images), x.grad)
    assert torch.allclose(CaptumMethod(Saliency, abs=False).attribute(model, images), x.grad)


def test_maps_use_eval_mode_and_leave_the_callers_mode(model, images):
    model.train()
    in_train_mode = VanillaGradient().attribute(model, images)
    assert model.training, "attribute switched the caller's model out of train mode"
    model.eval()
    # BatchNorm in train mode would give other gradients: equal maps mean eval mode was used.
    assert torch.equal(in_train_mode, VanillaGradient().attribute(model, images))
    assert not model.training


def test_random_maps_depend_on_seed():
    m = build_model("convnet", 32, generator=torch.Generator())
    x = torch.zeros(2, 1, 32, 32)
    assert not torch.equal(RandomMap(seed=0).attribute(m, x), RandomMap(seed=1).attribute(m, x))


def test_sobel_of_a_step_edge():
    x = torch.zeros(1, 1, 32, 32)
    x[..., 16:] = 1
    m = SobelEdgeMap().attribute(build_model("convnet", 32, generator=torch.Generator()), x)
    assert m[0, 0, 10, 15] == 4 and m[0, 0, 10, 16] == 4 and m[0, 0, 10, 5] == 0


def test_gradcam_is_upsampled_to_the_image(model, images):
    gradcam = captum_methods()[-1]
    assert gradcam.name == "LayerGradCam"
    assert gradcam.attribute(model, images).shape == images.shape


def test_bad_target_names_the_range(model, images):
    msg = r"target must be an output index in \[0, 1\], got target=2"
    with pytest.raises(InvalidArgument, match=msg):
        VanillaGradient().attribute(model, images, target=2)


def test_bad_image_shape(model):
    with pytest.raises(InvalidArgument, match=r"shaped \[B, C, H, W\], got \(32, 32\)"):
        VanillaGradient().attribute(model, torch.zeros(32, 32))


def test_maps_of_the_wrong_shape_are_refused(model, images):
    class Broken(SaliencyMethod):
        name = "broken"

        def attribute_batch(self, model, x, target, *, offset):
            return x[:, :, :10]

    with pytest.raises(InvalidArgument, match=r"broken returned maps of shape \(7, 1, 10, 32\)"):
        Broken().attribute(model, images)


def test_group_maps_average_signed_maps(model):
    cohort = make_cohort(preset("test", n_per_class=6, image_size=32), 0)
    maps = subtype_maps(VanillaGradient(), model, cohort)
    assert maps["typical"].shape == (3, 32, 32) and maps["atypical"].shape == (3, 32, 32)
    assert np.allclose(group_map(maps["typical"]), maps["typical"].mean(0))
    assert group_map(np.array([[[1.0]], [[-1.0]]])).item() == 0


def test_empty_group_is_an_error(model):
    cohort = make_cohort(preset("homogeneous", n_per_class=4, image_size=32), 0)
    with pytest.raises(InvalidArgument, match="no atrophied atypical images"):
        subtype_maps(VanillaGradient(), model, cohort.subset(cohort.indices(subtype=1)))
    with pytest.raises(InvalidArgument, match="empty group"):
        group_map(np.zeros((0, 32, 32)))


def test_layer_methods_name_a_bad_layer(model, images):
    from captum.attr import LayerGradCam

    with pytest.raises(InvalidArgument, match=r"has no layer 'conv9'; accepted: convolutions"):
        CaptumMethod(LayerGradCam, layer="conv9").attribute(model, images)
    with pytest.raises(InvalidArgument, match="has no Conv2d layer"):
        CaptumMethod(LayerGradCam).attribute(
            torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, 2)), images
        )

import importlib.util
import warnings

import numpy as np
import pytest
import torch
from captum.attr import Saliency

from salcheck.cohort import make_cohort, preset
from salcheck.errors import InvalidArgument, SilentEquivalenceWarning
from salcheck.models.networks import build_model
from salcheck.saliency import (
    Deconvolution,
    GuidedBackprop,
    RandomMap,
    SaliencyMethod,
    SobelEdgeMap,
    UntrainedNetwork,
    VanillaGradient,
    group_map,
    method_tags,
    subtype_maps,
)
from salcheck.saliency.captum_adapter import CaptumMethod
from salcheck.saliency.catalogue import CATALOGUE, build_method
from salcheck.saliency.resolve import method_fingerprint


@pytest.fixture(scope="module")
def model():
    return build_model("convnet", 32, generator=torch.Generator().manual_seed(0)).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(7, 1, 32, 32, generator=torch.Generator().manual_seed(1))


RELU_ONLY = ("guided-backprop-captum", "deconvolution-captum")
#: Methods that warn on the study's LeakyReLU network (tests/test_monai.py has MONAI's).
WARN_ON_LEAKY = (*RELU_ONLY, "monai-guided-backprop")
HAS_MONAI = importlib.util.find_spec("monai") is not None
#: The catalogue's methods this environment can build (MONAI's need salcheck[monai]).
AVAILABLE = [k for k in CATALOGUE if HAS_MONAI or not k.startswith("monai-")]


@pytest.mark.parametrize("name", [k for k in AVAILABLE if k not in WARN_ON_LEAKY])
def test_maps_are_shaped_like_images_deterministic_and_finite(name, model, images):
    method = build_method(name)
    before, numpy_before = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    a = method.attribute(model, images)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert np.array_equal(np.random.get_state()[1], numpy_before)
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
    gradcam = build_method("grad-cam")
    assert gradcam.name == "Grad-CAM"
    assert gradcam.attribute(model, images).shape == images.shape


@pytest.mark.parametrize("name", RELU_ONLY)
def test_captum_relu_only_rules_warn_and_equal_the_gradient_on_leaky_relu(name, model, images):
    with pytest.warns(SilentEquivalenceWarning, match="LeakyReLU layers keep their plain gradient"):
        maps = build_method(name).attribute(model, images)
    assert torch.equal(maps, VanillaGradient().attribute(model, images))


@pytest.mark.parametrize("name", RELU_ONLY)
def test_the_silent_equivalence_warning_comes_once_a_call_not_once_a_batch(name, model, images):
    method = build_method(name)
    method.batch_size = 1  # a batch per image
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")  # once per location, as outside pytest
        method.attribute(model, images)
    silent = [w for w in seen if issubclass(w.category, SilentEquivalenceWarning)]
    assert len(images) > 1 and len(silent) == 1, [str(w.message) for w in silent]
    assert silent[0].filename == __file__  # it points at the caller


@pytest.mark.parametrize("ours", [GuidedBackprop, Deconvolution])
def test_rectifier_rules_apply_to_leaky_relu_and_match_captum_on_relu(ours, model, images):
    assert not torch.allclose(
        ours().attribute(model, images), VanillaGradient().attribute(model, images)
    )
    relu_net = build_model("conv5_fc3", 32, generator=torch.Generator().manual_seed(0)).eval()
    captum_cls = getattr(__import__("captum.attr", fromlist=[ours.__name__]), ours.__name__)
    theirs = CaptumMethod(captum_cls).attribute(relu_net, images)  # ReLU only: no warning
    assert torch.allclose(ours().attribute(relu_net, images), theirs, atol=1e-6)
    assert not any(h for m in relu_net.modules() for h in m._backward_hooks.values())


def test_rectifier_rule_needs_a_rectifier(images):
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 32, 2))
    with pytest.raises(InvalidArgument, match=r"Sequential has no rectifier module \(ReLU, LeakyReLU"):
        GuidedBackprop().attribute(linear, images)


def test_untrained_network_is_seeded_and_leaves_the_model(model, images):
    state = {k: v.clone() for k, v in model.state_dict().items()}
    a = UntrainedNetwork(seed=0).attribute(model, images)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert torch.equal(a, UntrainedNetwork(seed=0).attribute(model, images))
    assert not torch.equal(a, UntrainedNetwork(seed=1).attribute(model, images))
    assert not torch.allclose(a, VanillaGradient().attribute(model, images))


def test_tags_follow_the_maps(model, images):
    for name in AVAILABLE:
        if name in WARN_ON_LEAKY:
            continue
        method = build_method(name)
        maps = method.attribute(model, images)
        assert method_tags(method)["deterministic"] is True
        assert method_tags(method)["signed"] == bool((maps < 0).any()), name
    assert method_tags(object()) == {"signed": None, "deterministic": None}


def test_fingerprint_covers_tensors_and_nested_methods():
    a = CaptumMethod(Saliency, baselines=torch.zeros(1, 1, 64, 64))
    b = CaptumMethod(Saliency, baselines=torch.zeros(1, 1, 64, 64).index_fill(3, torch.tensor([9]), 1))
    assert method_fingerprint(a) != method_fingerprint(b)
    assert method_fingerprint(UntrainedNetwork(VanillaGradient())) != method_fingerprint(
        UntrainedNetwork(RandomMap())
    )


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
    with pytest.raises(InvalidArgument, match="has no Conv2d or Conv3d layer"):
        CaptumMethod(LayerGradCam).attribute(
            torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, 2)), images
        )


def test_null_maps_are_drawn_per_model_in_an_evaluation(images):
    """In an evaluation each model gets its own random map (seeded by its key) and its own
    untrained network: the initial weights its training started from."""
    from salcheck.engine.evaluate import model_context, per_model
    from salcheck.saliency import RandomMap, UntrainedNetwork, VanillaGradient
    from salcheck.saliency.resolve import resolve
    from salcheck.store.keys import ModelSpec
    from salcheck.training.loop import initial_network

    a, b = (ModelSpec("homogeneous", v, seed=3, image_size=32) for v in ("default", "Noise"))
    c = ModelSpec("homogeneous", "default", seed=4, image_size=32)
    trained = initial_network("convnet", 32, 99).eval()  # any network: the random map ignores it
    random = resolve(RandomMap())
    maps = {s: per_model(random, s).method.attribute(trained, images) for s in (a, b, c)}
    assert not torch.equal(maps[a], maps[b]) and not torch.equal(maps[a], maps[c])
    assert torch.equal(maps[a], per_model(random, a).method.attribute(trained, images))
    untrained = resolve(UntrainedNetwork())
    got = per_model(untrained, c).method.attribute(trained, images)
    start = model_context(c).initial().eval()
    assert torch.equal(got, VanillaGradient().attribute(start, images))
    # Same seed, another variant: the same initial weights (the paired design), the same null.
    assert torch.equal(
        per_model(untrained, a).method.attribute(trained, images),
        per_model(untrained, b).method.attribute(trained, images),
    )
    assert not torch.equal(got, per_model(untrained, a).method.attribute(trained, images))


def test_salcheck_methods_are_named_by_their_declared_version_not_their_source(tmp_path, monkeypatch):
    """A refactor of a salcheck method recomputes nothing (its identity is its declared version);
    a user's method that declares none is named by its module's source (an edit recomputes)."""
    import sys

    from salcheck.fingerprint import code_id
    from salcheck.saliency import VanillaGradient

    for name in CATALOGUE:
        method = build_method(name, 0)
        mro = [c for c in type(method).__mro__ if c.__module__.startswith("salcheck.")]
        assert all(code_id(c).endswith(" version 1") for c in mro), name
    source = (
        "from salcheck.saliency import VanillaGradient\nclass Mine(VanillaGradient):\n    name = {!r}\n"
    )
    (tmp_path / "usermethod.py").write_text(source.format("mine"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import usermethod

    before = method_fingerprint(usermethod.Mine())
    assert code_id(usermethod.Mine).startswith("usermethod ")  # the source's sha256
    (tmp_path / "usermethod.py").write_text(source.format("mine!"))
    del sys.modules["usermethod"]
    import usermethod as edited

    assert method_fingerprint(edited.Mine()) != before
    # A class in __main__ (a notebook, a script) has no name another process reads, version or not.
    main_class = type("Declared", (VanillaGradient,), {"version": 3, "__module__": "__main__"})
    assert method_fingerprint(main_class()) is None


def test_a_method_class_without_a_seed_parameter_is_built_with_its_defaults(tmp_path, monkeypatch):
    (tmp_path / "scaled.py").write_text(
        "from salcheck.saliency import VanillaGradient\n"
        "class Scaled(VanillaGradient):\n"
        "    def __init__(self, scale=2.0):\n"
        "        super().__init__()\n"
        "        self.scale = scale\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from salcheck.saliency.resolve import resolve_method

    method = resolve_method("scaled:Scaled")
    assert method.scale == 2.0 and method.seed == 0
    assert resolve_method("salcheck.saliency:RandomMap", seed=3).seed == 3  # takes a seed: given


def test_offset_reaches_only_methods_that_name_it():
    from salcheck.saliency import SaliencyMethod

    seen: list[int] = []

    class Plain(SaliencyMethod):
        def attribute_batch(self, model, x, target):
            return torch.ones_like(x)

    class Seeded(SaliencyMethod):
        def attribute_batch(self, model, x, target, *, offset):
            seen.append(offset)
            return torch.full_like(x, float(offset))

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    x = torch.rand(5, 1, 4, 4)
    assert Plain(batch_size=2).attribute(net, x).eq(1).all()
    maps = Seeded(batch_size=2).attribute(net, x)
    assert seen == [0, 2, 4]
    assert maps[:, 0, 0, 0].tolist() == [0, 0, 2, 2, 4]


def test_a_volatile_key_holds_within_the_process_and_no_further(monkeypatch):
    import sys
    import types

    from salcheck.saliency import resolve as resolve_module

    resolve = resolve_module.resolve
    # a method whose source cannot be read (made with exec): no fingerprint, a volatile key
    module = types.ModuleType("volatile_methods")
    source = "class Made:\n    def attribute(self, inputs, target=0):\n        return inputs\n"
    exec(source, module.__dict__)
    monkeypatch.setitem(sys.modules, "volatile_methods", module)
    first, again = resolve("volatile_methods:Made"), resolve("volatile_methods:Made")
    assert not first.cacheable and first.fingerprint == again.fingerprint  # the plan and the view
    exec(source, module.__dict__)  # the class made again, as an edit re-imported would be
    assert resolve("volatile_methods:Made").fingerprint != first.fingerprint
    monkeypatch.setattr(resolve_module, "_PROCESS", "another-process")
    assert resolve("volatile_methods:Made").fingerprint.split(":")[1] == "another-process"

"""Bring your own network: names, the features seam, seeding, identity in the key, bad input."""

import importlib
import sys
import textwrap

import pytest
import torch

from salcheck.errors import InvalidArgument
from salcheck.models.custom import (
    FeatureSeam,
    build_network,
    check_network_name,
    load_network,
    network_fingerprint,
)
from salcheck.models.networks import GeneratorDropout, trainable_layers, weights_bytes
from salcheck.store.keys import ModelSpec
from salcheck.store.tiers import get_tier

USER_NETS = textwrap.dedent("""
    from torch import nn

    def small(image_size, n_classes):
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.MaxPool2d(4),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(4 * (image_size // 4) ** 2, n_classes),
        )

    class WithFeatures(nn.Module):
        def __init__(self, image_size, n_classes):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
            self.head = nn.Linear(16, n_classes)

        def features(self, x):
            return self.body(x)

        def forward(self, x):
            return self.head(self.body(x).flatten(1))

    def not_a_module(image_size, n_classes):
        return "a network"

    def ten_outputs(image_size, n_classes):
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

    def too_deep(image_size, n_classes):
        layers = []
        for _ in range(7):
            layers += [nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2)]
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(1, n_classes))

    def prelu(image_size, n_classes):
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.PReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(4, n_classes))

    def dropout2d(image_size, n_classes):
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.Dropout2d(0.1), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(4, n_classes))

    def no_arguments():
        return nn.Linear(1, 2)
""")


@pytest.fixture
def user_nets(tmp_path, monkeypatch):
    """A user's module ``usernets`` of network factories, importable; fingerprints uncached."""
    (tmp_path / "usernets.py").write_text(USER_NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    network_fingerprint.cache_clear()
    yield tmp_path / "usernets.py"
    sys.modules.pop("usernets", None)
    network_fingerprint.cache_clear()


def test_the_study_networks_keep_their_keys():
    # Keys of models trained before networks could be chosen: they must not move.
    assert ModelSpec("homogeneous").key() == "44cd49d34c89aac8bbafd28f"
    assert (
        ModelSpec("large", seed=3, image_size=64, model="conv5_fc3").key() == "e16bc2d448c501a3fa5a3d40"
    )
    assert "network" not in ModelSpec("homogeneous").to_dict()
    with pytest.raises(InvalidArgument, match="'convnet' takes no network fingerprint"):
        ModelSpec("homogeneous", network="abc")


def test_a_user_network_trains_under_its_own_key(user_nets):
    spec = ModelSpec("homogeneous", image_size=32, model="usernets:small@3")
    assert spec.network == network_fingerprint("usernets:small@3", 32)
    assert spec.key() != ModelSpec("homogeneous", image_size=32).key()
    other_layer = ModelSpec("homogeneous", image_size=32, model="usernets:small@1")
    assert other_layer.key() != spec.key()
    read_back = ModelSpec.from_dict(spec.to_dict())
    assert read_back == spec and read_back.key() == spec.key()
    assert "on usernets:small@3" in spec.label()


def test_editing_the_network_changes_its_key(user_nets):
    before = ModelSpec("homogeneous", image_size=32, model="usernets:small@3").key()
    user_nets.write_text(USER_NETS.replace("nn.MaxPool2d(4)", "nn.AvgPool2d(4)"))
    sys.modules.pop("usernets", None)
    importlib.invalidate_caches()
    network_fingerprint.cache_clear()
    assert ModelSpec("homogeneous", image_size=32, model="usernets:small@3").key() != before


def test_a_stored_spec_is_read_without_importing_its_network():
    stored = ModelSpec.from_dict({"dataset": "homogeneous", "model": "gone.module:net", "network": "f0"})
    assert stored.network == "f0" and stored.key() == ModelSpec.from_dict(stored.to_dict()).key()


def test_same_seed_same_weights_and_global_state_untouched(user_nets):
    before = torch.random.get_rng_state()
    a, b, c = (
        build_network("usernets:small@3", 32, generator=torch.Generator().manual_seed(s))
        for s in (7, 7, 8)
    )
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["net.0.weight"], sc["net.0.weight"])


def test_dropout_is_seeded_and_activations_are_out_of_place(user_nets):
    m = build_network("usernets:small@3", 32, generator=torch.Generator())
    assert any(isinstance(x, GeneratorDropout) and x.p == 0.5 for x in m.modules())
    assert not any(isinstance(x, torch.nn.Dropout) for x in m.modules())
    assert not any(getattr(x, "inplace", False) for x in m.modules())
    every = {id(p) for p in m.parameters()}
    covered = {id(p) for _, layer in trainable_layers(m) for p in layer.parameters()}
    assert every == covered  # cascading randomisation re-draws every parameter


def test_the_features_seam_reads_the_named_layer_or_the_method(user_nets):
    m = build_network("usernets:small@3", 32, generator=torch.Generator().manual_seed(0)).eval()
    assert isinstance(m, FeatureSeam)
    x = torch.rand(3, 1, 32, 32)
    assert torch.equal(m.features(x), m.net[:4](x))  # the output of layer "3", the MaxPool
    own = build_network("usernets:WithFeatures", 32, generator=torch.Generator().manual_seed(0)).eval()
    assert torch.equal(own.features(x), own.net.body(x))
    assert not any(h for x in m.modules() for h in x._forward_hooks.values())


def test_weights_load_back(user_nets):
    m = build_network("usernets:small@3", 32, generator=torch.Generator().manual_seed(3)).eval()
    stored = weights_bytes(m)
    back = load_network("usernets:small@3", 32, stored)
    assert weights_bytes(back) == stored  # the stored weights load back as they were stored
    for name, tensor in back.state_dict().items():
        kept = m.state_dict()[name]
        assert tensor.dtype == kept.dtype, name  # float16 as stored, loaded as the model's dtype
        expected = kept.half().to(kept.dtype) if kept.is_floating_point() else kept
        assert torch.equal(tensor, expected), name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("usernets:not_a_module@0", "its factory returned a str, not a torch.nn.Module"),
        ("usernets:ten_outputs@0", r"returns \(2, 10\) for 2 images; it must return logits of shape"),
        ("usernets:too_deep@0", "fails on 2 images of 64 x 64 \\(too deep for this image size"),
        ("usernets:prelu@0", "layer '1' of type PReLU holds parameters or buffers salcheck cannot"),
        ("usernets:dropout2d@0", "layer '1' of type Dropout2d draws from torch's global generator"),
        ("usernets:no_arguments@0", r"calling its factory \(image_size=64, n_classes=2\) failed"),
        ("usernets:small", "has no features method for criterion a; name the layer it reads as"),
        ("usernets:small@head", "has no layer 'head' for criterion a; its last layers: "),
        ("usernets:missing", "cannot import network 'usernets:missing'"),
        ("usernets:USER_NETS_IS_NOT_THERE@x", "cannot import network"),
    ],
)
def test_bad_networks_are_named_before_any_training(user_nets, name, message):
    with pytest.raises(InvalidArgument, match=message):
        get_tier("ci").with_network(name).spec("homogeneous", "default", 0)


@pytest.mark.parametrize("name", ["", "densenet", "a b:c", "mod:", ":obj", 3])
def test_bad_network_names(name):
    with pytest.raises(
        InvalidArgument, match="accepted: convnet, conv5_fc3, monai:NAME or MODULE:OBJECT"
    ):
        check_network_name(name)


def test_a_custom_network_sets_its_own_dropout(user_nets):
    with pytest.raises(InvalidArgument, match="dropout applies to the study's networks"):
        build_network("usernets:small@3", 32, dropout=0.2, generator=torch.Generator())


def test_a_tier_on_a_network(user_nets):
    ci = get_tier("ci")
    tier = ci.with_network("usernets:small@3")
    assert tier.tag == "ci-usernets-small-3" and ci.tag == "ci"
    assert tier.options() == "--tier ci --network usernets:small@3"
    spec = tier.spec("large", "Noise", 2)
    assert spec.model == "usernets:small@3" and spec.network is not None
    assert (
        ci.spec("large", "Noise", 2).key()
        == ModelSpec(**{**spec.to_dict(), "model": "convnet", "network": None}).key()
    )
    assert get_tier("ci", None) is ci


def test_network_plan_trains_each_network_on_the_same_cohorts(user_nets, tiny):
    from salcheck.studies.network_benchmark import FINDINGS, network_plan

    plan, refs = network_plan(tiny, ["convnet", "usernets:small@3"], ["vanilla"])
    models = plan.models()
    assert len(models) == 2 * 3 * len(tiny.seeds)
    by_net = {
        n: {(m.dataset, m.seed, m.n_per_class) for m in models if m.model == n}
        for n in ("convnet", "usernets:small@3")
    }
    assert by_net["convnet"] == by_net["usernets:small@3"]  # same cohorts and seeds
    parts = [t.part for t in plan.tasks]
    assert parts.count("features") == 12 and parts.count("maps") == 12 * 5  # vanilla and 4 nulls
    assert [r.spec for r in refs] == ["vanilla"] and "randomisation" not in parts
    assert not any(k.startswith("F8") for k in FINDINGS) and "F2-b" in FINDINGS
    with pytest.raises(InvalidArgument, match="returns \\(2, 10\\)"):
        network_plan(tiny, ["convnet", "usernets:ten_outputs@0"], ["vanilla"])


@pytest.mark.parametrize(
    "command",
    [["run"], ["report"], ["benchmark"], ["verdicts"], ["protocol"], ["check", "vanilla"]],
)
def test_every_computing_command_takes_a_network(command):
    from salcheck.cli import build_parser
    from salcheck.commands.shared import tier_of

    args = build_parser().parse_args([*command, "--network", "monai:DenseNet121"])
    assert tier_of(args).network == "monai:DenseNet121"
    assert tier_of(build_parser().parse_args(command)).network == "convnet"


def test_tiers_hash_so_that_plans_can_hold_their_check_suites(tiny):
    from salcheck.engine.plan import checks_plan

    ci = get_tier("ci")
    assert hash(ci) == hash(get_tier("ci")) and ci == get_tier("ci")
    assert len({ci, ci.with_network("convnet"), ci.with_network("conv5_fc3")}) == 2
    assert len(checks_plan(tiny, "vanilla").checks) == 1

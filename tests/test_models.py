import pytest
import torch

from salcheck.errors import InvalidArgument
from salcheck.models.networks import Conv5FC3, ConvNet, build_model, training_flops_per_image


@pytest.mark.parametrize("n", [32, 64, 128])
@pytest.mark.parametrize(("name", "channels"), [("convnet", 64), ("conv5_fc3", 128)])
def test_shapes_for_any_multiple_of_32(name, channels, n):
    m = build_model(name, n, generator=torch.Generator().manual_seed(0)).eval()
    x = torch.rand(3, 1, n, n)
    assert m(x).shape == (3, 2)
    assert m.features(x).shape == (3, channels, n // 32, n // 32)


def test_conv5_fc3_matches_clinicadl_sizes_at_128():
    m = Conv5FC3(128)
    linears = [m_ for m_ in m.classifier if isinstance(m_, torch.nn.Linear)]
    sizes = [(lin.in_features, lin.out_features) for lin in linears]
    assert sizes == [(2048, 1300), (1300, 50), (50, 2)]
    assert ConvNet(128).classifier[-1].in_features == 64 * 16


def test_building_uses_only_the_given_generator():
    before = torch.random.get_rng_state()
    a = build_model("convnet", 32, generator=torch.Generator().manual_seed(7))
    b = build_model("convnet", 32, generator=torch.Generator().manual_seed(7))
    c = build_model("convnet", 32, generator=torch.Generator().manual_seed(8))
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["convolutions.0.weight"], sc["convolutions.0.weight"])


def test_flops_counted_from_layers():
    # ConvNet at N = 32: convs at 32, 16, 8, 4, 2 pixels; linear 64 -> 2.
    chans = [
        (1, 8),
        (8, 8),
        (8, 16),
        (16, 16),
        (16, 32),
        (32, 32),
        (32, 64),
        (64, 64),
        (64, 64),
        (64, 64),
    ]
    sizes = [32, 32, 16, 16, 8, 8, 4, 4, 2, 2]
    fwd = sum(2 * i * o * 9 * s * s for (i, o), s in zip(chans, sizes, strict=True)) + 2 * 64 * 2
    assert training_flops_per_image(ConvNet(32), 32) == 3 * fwd


def test_unknown_model():
    with pytest.raises(InvalidArgument, match="unknown model 'resnet'; accepted: convnet, conv5_fc3"):
        build_model("resnet", 32, generator=torch.Generator())

"""Every catalogued saliency method maps volumes: a map per voxel, finite, from the study's
ConvNet in 3-D (layer methods read its last Conv3d and are upsampled trilinearly; occlusion
slides a cube)."""

import warnings

import pytest
import torch

pytest.importorskip("captum", reason="captum is optional: pip install 'salcheck[captum]'")

from salcheck.models.custom import build_network
from salcheck.saliency.captum_adapter import last_conv
from salcheck.saliency.catalogue import CATALOGUE, build_method

NEEDS_MONAI = {name for name in CATALOGUE if name.startswith("monai")}


@pytest.fixture(scope="module")
def model():
    return build_network("convnet", 32, dims=3, generator=torch.Generator().manual_seed(0)).eval()


def small(seed: int = 0) -> torch.nn.Module:
    """A one-convolution network for volumes: occlusion's 3,375 forward passes per volume in
    seconds, not the minute ConvNet3D takes."""
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv3d(1, 2, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(2 * 32**3, 2)
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.01)
    return net.eval()


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_catalogued_method_maps_volumes(model, name):
    if name in NEEDS_MONAI:
        pytest.importorskip("monai")
    x = torch.rand(2, 1, 32, 32, 32, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        maps = build_method(name, 0).attribute(small() if name == "occlusion" else model, x, 0)
    assert maps.shape == x.shape and torch.isfinite(maps).all()
    if name not in ("constant",):
        assert not torch.equal(maps[0], maps[1])  # each volume its own map


def test_layer_methods_read_the_last_3d_convolution(model):
    assert last_conv(model) is [m for m in model.modules() if isinstance(m, torch.nn.Conv3d)][-1]

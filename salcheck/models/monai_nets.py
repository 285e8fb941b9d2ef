"""MONAI's classifiers by name (``--network monai:DenseNet121``; needs ``salcheck[monai]``).

Each entry is a factory ``(image_size, n_classes, dims=2) -> nn.Module`` with one input channel
(``dims=3``: the same network with ``spatial_dims=3``, for volumes) and the layer criterion a
reads (:mod:`salcheck.models.custom`):

- ``DenseNet121``: ``DenseNet121(spatial_dims=2, in_channels=1, out_channels=n)``, MONAI's
  defaults otherwise (init_features 64, growth rate 32, blocks 6-12-24-16, no dropout);
  features: ``features``, the dense trunk's output (after norm5), [B, 1024, N/32, N/32].
- ``DenseNetSmall``: MONAI's ``DenseNet`` with ``init_features=16, growth_rate=8,
  block_config=(2, 2, 2, 2)``: the same dense design at a size this CPU trains in minutes;
  features: ``features``, [B, 32, N/32, N/32] after norm5.
- ``Classifier``: MONAI's ``Classifier`` (residual units of strided convolutions) with channels
  8-16-32-64-64, strides 2, one residual unit per stage, ReLU and batch norm (MONAI's PReLU
  would hold parameters salcheck's seeded initialisation does not draw); features: ``net``,
  the convolutional trunk, [B, 64, N/32, N/32].
- ``ResNet18`` and ``ResNet10``: ``resnet18`` / ``resnet10(spatial_dims=2,
  n_input_channels=1, num_classes=n, conv1_t_stride=2)``: the 2-D ResNet stem of He et al.
  2016 (7x7 convolution with stride 2, then max-pooling; MONAI's default stride 1 is for
  volumes); features: ``layer4``, [B, 512, N/32, N/32].

Every image size salcheck accepts (multiples of 32) leaves them at least 1 x 1 features.
MONAI's own initialisation is replaced by salcheck's seeded one (PyTorch's default rules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salcheck.errors import InvalidArgument


def _import_nets() -> Any:
    try:
        from monai.networks import nets  # optional: salcheck[monai]
    except ImportError as exc:
        msg = f"MONAI's networks need MONAI: pip install 'salcheck[monai]' ({exc})"
        raise InvalidArgument(msg) from exc
    return nets


def densenet121(image_size: int, n_classes: int, dims: int = 2) -> Any:
    """MONAI's DenseNet121 for one-channel images (or volumes)."""
    return _import_nets().DenseNet121(spatial_dims=dims, in_channels=1, out_channels=n_classes)


def densenet_small(image_size: int, n_classes: int, dims: int = 2) -> Any:
    """MONAI's DenseNet at a small size (init 16, growth 8, blocks 2-2-2-2)."""
    return _import_nets().DenseNet(
        spatial_dims=dims,
        in_channels=1,
        out_channels=n_classes,
        init_features=16,
        growth_rate=8,
        block_config=(2, 2, 2, 2),
    )


def classifier(image_size: int, n_classes: int, dims: int = 2) -> Any:
    """MONAI's Classifier at the study's depth (5 strided stages, 8 to 64 channels)."""
    return _import_nets().Classifier(
        in_shape=(1, *(image_size,) * dims),
        classes=n_classes,
        channels=(8, 16, 32, 64, 64),
        strides=(2, 2, 2, 2, 2),
        num_res_units=1,
        act="RELU",
        norm="BATCH",
    )


def resnet18(image_size: int, n_classes: int, dims: int = 2) -> Any:
    """MONAI's ResNet18 with the 2-D stem (stride-2 7x7 convolution; 7x7x7 for volumes)."""
    return _import_nets().resnet18(
        spatial_dims=dims, n_input_channels=1, num_classes=n_classes, conv1_t_stride=2
    )


def resnet10(image_size: int, n_classes: int, dims: int = 2) -> Any:
    """MONAI's ResNet10 (one basic block per stage) with the 2-D stem."""
    return _import_nets().resnet10(
        spatial_dims=dims, n_input_channels=1, num_classes=n_classes, conv1_t_stride=2
    )


#: name -> (factory, the layer criterion a reads).
MONAI_NETWORKS: dict[str, tuple[Callable[..., Any], str]] = {
    "DenseNet121": (densenet121, "features"),
    "DenseNetSmall": (densenet_small, "features"),
    "Classifier": (classifier, "net"),
    "ResNet18": (resnet18, "layer4"),
    "ResNet10": (resnet10, "layer4"),
}


def monai_network(name: str) -> tuple[Callable[..., Any], str]:
    """(factory, features layer) of ``monai:<name>``.

    Examples:
        >>> monai_network("ResNet10")[1]
        'layer4'
    """
    if name not in MONAI_NETWORKS:
        msg = f"unknown MONAI network {name!r}; accepted: {', '.join(MONAI_NETWORKS)}"
        raise InvalidArgument(msg)
    return MONAI_NETWORKS[name]

"""Stage 2 in 3-D: the study's ConvNet for volumes ``[B, 1, N, N, N]``, N a multiple of 32.

:class:`ConvNet3D` is :class:`~salcheck.models.networks.ConvNet` with every 2-D layer made 3-D
(Conv3d, BatchNorm3d, MaxPool3d) and nothing else changed, so that a difference between the 2-D
and the 3-D studies is one of dimension, not of design. Like the 2-D network it exposes
:meth:`~ConvNet3D.features` (what criterion a clusters); output 0 is the controls node, output
1 the atrophied node. :func:`build_model3d` builds it on the meta device and draws every
parameter from an explicit ``torch.Generator`` with PyTorch's default rules, as
:func:`~salcheck.models.networks.build_model` does: building a model never touches torch's
global random state.

Not yet there: a training loop, the criteria on volumes and a tier of 3-D models
(docs/cohorts3d.md).
"""

from __future__ import annotations

import torch
from torch import nn

from salcheck.cohort.geometry import check_image_size
from salcheck.errors import InvalidArgument
from salcheck.models.networks import GeneratorDropout, reinitialise

#: The channels of the five blocks: ConvNet's own (see :class:`ConvNet3D`).
WIDTHS_3D = (8, 16, 32, 64, 64)


class ConvNet3D(nn.Module):
    """The poster's ConvNet in 3-D.

    Five blocks conv3x3x3 -> conv3x3x3 -> BatchNorm3d -> LeakyReLU(0.01) -> MaxPool 2x2x2 with
    8, 16, 32, 64, 64 channels; then Flatten -> Dropout(p) -> Linear(64 (N/32)^3 -> 2).

    The widths are ConvNet's, unchanged: the 3-D network is meant to be the 2-D study's network
    with one more dimension, so that properties measured on it can be compared with the 2-D
    ones. The kernels have 27 weights instead of 9 (about 3x the convolution parameters), and
    the classifier reads 64 (N/32)^3 features instead of 64 (N/32)^2 (64 at N = 32, 512 at
    N = 64). Narrower blocks would have made the 3-D runs cheaper but a different network.

    Input: volumes ``[B, 1, N, N, N]`` with N the ``image_size`` the network was built for;
    anything else is refused with :class:`~salcheck.errors.InvalidArgument` naming the shape.
    """

    def __init__(self, image_size: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        n = check_image_size(image_size)
        self.image_size = n
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in WIDTHS_3D:
            layers += [
                nn.Conv3d(c_in, c_out, 3, padding=1),
                nn.Conv3d(c_out, c_out, 3, padding=1),
                nn.BatchNorm3d(c_out),
                nn.LeakyReLU(0.01),
                nn.MaxPool3d(2),
            ]
            c_in = c_out
        self.convolutions = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), GeneratorDropout(dropout), nn.Linear(c_in * (n // 32) ** 3, 2)
        )

    def check_input(self, x: torch.Tensor) -> None:
        """Raise InvalidArgument unless ``x`` is shaped ``[B, 1, N, N, N]`` for this N."""
        n = self.image_size
        if x.ndim != 5 or tuple(x.shape[1:]) != (1, n, n, n):
            msg = (
                f"ConvNet3D(image_size={n}) takes volumes shaped [B, 1, {n}, {n}, {n}], "
                f"got {tuple(x.shape)}"
            )
            raise InvalidArgument(msg)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last convolutional block, [B, 64, N/32, N/32, N/32]."""
        self.check_input(x)
        return self.convolutions(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_model3d(image_size: int, *, dropout: float = 0.0, generator: torch.Generator) -> ConvNet3D:
    """Build :class:`ConvNet3D` for volumes of ``image_size`` and initialise it like PyTorch's
    defaults, drawing from ``generator`` (the rules of
    :func:`~salcheck.models.networks.reinitialise`, in module order).

    Examples:
        >>> a = build_model3d(32, generator=torch.Generator().manual_seed(0))
        >>> b = build_model3d(32, generator=torch.Generator().manual_seed(0))
        >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        True
        >>> a(torch.zeros(2, 1, 32, 32, 32)).shape
        torch.Size([2, 2])
    """
    with torch.device("meta"):
        model = ConvNet3D(image_size, dropout)
    model = model.to_empty(device="cpu")
    reinitialise(model, generator)
    return model

"""Stage 2: the study's small CNNs (methods.md section 2), for any N that is a multiple of 32.

Both networks expose :meth:`features`, the output of their last convolutional block, which
criterion a clusters. Output 0 is the controls node, output 1 the atrophied node.
Parameters are initialised from an explicit ``torch.Generator`` (:func:`build_model`): the
modules are built on the meta device, so constructing a model never draws from torch's global
random state.
"""

from __future__ import annotations

import math

import torch
from safetensors.torch import load, save
from torch import nn

from salcheck.cohort.geometry import check_image_size
from salcheck.errors import check_choice

MODEL_NAMES = ("convnet", "conv5_fc3")


class GeneratorDropout(nn.Module):
    """Dropout whose mask is drawn from ``self.generator`` (set by the trainer), not globally."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)


class ConvNet(nn.Module):
    """The poster's network (ClinicaDL's 2D phantom ConvNet).

    Five blocks conv3x3 -> conv3x3 -> BatchNorm -> LeakyReLU(0.01) -> MaxPool 2x2 with 8, 16,
    32, 64, 64 channels; then Flatten -> Dropout(p) -> Linear(64 (N/32)^2 -> 2).
    """

    def __init__(self, image_size: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        n = check_image_size(image_size)
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in (8, 16, 32, 64, 64):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.Conv2d(c_out, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.01),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        self.convolutions = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), GeneratorDropout(dropout), nn.Linear(64 * (n // 32) ** 2, 2)
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last convolutional block, [B, 64, N/32, N/32]."""
        return self.convolutions(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.convolutions(x))


class Conv5FC3(nn.Module):
    """ClinicaDL 1.x's default 2D network ``Conv5_FC3``.

    Five blocks conv3x3 -> BatchNorm -> ReLU -> MaxPool 2x2 with 8, 16, 32, 64, 128 channels;
    then Flatten -> Dropout(p) -> Linear(128 (N/32)^2 -> 1300) -> ReLU -> Linear(1300 -> 50)
    -> ReLU -> Linear(50 -> 2).
    """

    def __init__(self, image_size: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        n = check_image_size(image_size)
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in (8, 16, 32, 64, 128):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        self.convolutions = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            GeneratorDropout(dropout),
            nn.Linear(128 * (n // 32) ** 2, 1300),
            nn.ReLU(),
            nn.Linear(1300, 50),
            nn.ReLU(),
            nn.Linear(50, 2),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last convolutional block, [B, 128, N/32, N/32]."""
        return self.convolutions(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.convolutions(x))


def build_model(
    name: str, image_size: int, *, dropout: float = 0.0, generator: torch.Generator
) -> nn.Module:
    """Build ``name`` and initialise it like PyTorch's defaults, drawing from ``generator``.

    Conv and Linear weights: Kaiming-uniform with a = sqrt(5); biases U(-1/sqrt(fan_in),
    1/sqrt(fan_in)); BatchNorm weight 1, bias 0, fresh running statistics.
    """
    check_choice("model", name, MODEL_NAMES)
    cls = ConvNet if name == "convnet" else Conv5FC3
    with torch.device("meta"):
        model = cls(image_size, dropout)
    model = model.to_empty(device="cpu")
    reinitialise(model, generator)
    # Channels-last convolutions and BatchNorm run 10-30% faster on CPU here (bench_train,
    # bench_saliency); the numbers are the same up to float rounding.
    # torch's stubs list no memory_format for Module.to, which accepts it.
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def reinitialise(module: nn.Module, generator: torch.Generator) -> None:
    """Re-draw every parameter of ``module`` (and its children) from ``generator``: conv (2-D or
    3-D) and linear weights Kaiming-uniform with a = sqrt(5), biases U(-1/sqrt(fan_in),
    1/sqrt(fan_in)); BatchNorm weight 1, bias 0, fresh running statistics."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear)):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    fan_in = m.weight[0].numel()
                    bound = 1 / math.sqrt(fan_in)
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
                m.reset_running_stats()


def trainable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Layers with parameters, from input to output (for cascading randomisation)."""
    return [
        (n, m)
        for n, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear, nn.BatchNorm2d, nn.BatchNorm3d))
    ]


def training_flops_per_image(model: nn.Module, image_size: int) -> int:
    """Multiply-add FLOPs (2 per MAC) of one training step on one image (or volume): 3x the forward.

    Counted from the conv and linear layers' shapes (forward, plus about twice that for the
    gradients of inputs and weights); BatchNorm, activations and pooling are left out.
    """
    flops = 0
    size = image_size
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):  # a kernel of k^d weights at each of size^d outputs
            k = math.prod(m.kernel_size)
            flops += 2 * m.in_channels * m.out_channels * k * size ** len(m.kernel_size)
        elif isinstance(m, (nn.MaxPool2d, nn.MaxPool3d)):
            size //= 2
        elif isinstance(m, nn.Linear):
            flops += 2 * m.in_features * m.out_features
    return 3 * flops


#: How stored weights keep their floating-point tensors: float16 halves the zoo, and every
#: evaluation is computed on the weights as stored (``benchmarks/bench_zoo.py`` measures that
#: the rounding changes no printed digit).
WEIGHTS_DTYPE = torch.float16


def state_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """A state dict as safetensors bytes, floating-point tensors rounded to :data:`WEIGHTS_DTYPE`
    where they fit (integer buffers kept); the same state gives the same bytes."""
    return save(
        {k: _stored(v.detach()).cpu().contiguous() for k, v in state.items()}, metadata={"format": "pt"}
    )


def _stored(t: torch.Tensor) -> torch.Tensor:
    """``t`` in :data:`WEIGHTS_DTYPE` when it is floating-point and stays finite there (a value
    beyond float16's range keeps the tensor's own dtype); other tensors as they are."""
    if not t.is_floating_point():
        return t
    half = t.to(WEIGHTS_DTYPE)
    return half if bool(torch.isfinite(half).all()) or not bool(torch.isfinite(t).all()) else t


def state_from_bytes(data: bytes) -> dict[str, torch.Tensor]:
    """The state dict of safetensors bytes (no pickle: only tensors can be read)."""
    return load(data)


def weights_bytes(model: nn.Module) -> bytes:
    """A model's weights as stored: :func:`state_bytes` of its state dict."""
    return state_bytes(model.state_dict())


def load_state(model: nn.Module, data: bytes) -> nn.Module:
    """``model`` with the weights ``data`` (:func:`state_bytes`) loaded as its own dtype."""
    model.load_state_dict(state_from_bytes(data))
    return model


def load_weights(name: str, image_size: int, data: bytes, device: str = "cpu") -> nn.Module:
    """Network ``name`` of ``image_size`` with the weights ``data``, on ``device``, in eval mode."""
    model = build_model(name, image_size, generator=torch.Generator())
    return load_state(model, data).to(device).eval()

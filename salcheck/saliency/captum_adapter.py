"""Turn captum attribution classes into salcheck saliency methods (needs ``captum``).

``CaptumMethod(captum.attr.IntegratedGradients)`` behaves like any salcheck method. Layer
methods (``LayerGradCam``) get the model's last convolutional layer unless ``layer`` names one,
and their maps are upsampled bilinearly to the image size. ``NoiseTunnel`` wraps a base class:
``CaptumMethod(NoiseTunnel, base=Saliency, nt_type="smoothgrad", nt_samples=10)``. captum's
noise is drawn from torch's global generator; the adapter runs each batch inside
``torch.random.fork_rng`` seeded from (seed, first image index), so maps are reproducible and the
caller's global random state is left exactly as it was.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidArgument
from ..rng import derive_seed
from .base import SaliencyMethod


def last_conv(model: nn.Module) -> nn.Module:
    """The last ``nn.Conv2d`` of ``model`` (Grad-CAM's usual layer)."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        msg = f"{type(model).__name__} has no Conv2d layer for a layer attribution method"
        raise InvalidArgument(msg)
    return convs[-1]


def named_layer(model: nn.Module, name: str) -> nn.Module:
    """The module called ``name`` in ``model``; an unknown name lists the accepted ones."""
    layers = dict(model.named_modules())
    if name not in layers:
        accepted = ", ".join(n for n in layers if n)
        msg = f"{type(model).__name__} has no layer {name!r}; accepted: {accepted}"
        raise InvalidArgument(msg)
    return layers[name]


class CaptumMethod(SaliencyMethod):
    """Adapter from a captum ``Attribution`` class to :class:`SaliencyMethod`.

    Args:
        captum_cls: e.g. ``captum.attr.Saliency`` or ``captum.attr.LayerGradCam``.
        name: label for reports (default: captum's ``get_name()``).
        base: for ``NoiseTunnel``, the captum class it wraps.
        layer: for layer methods, a module name in the model (default: last Conv2d).
        **attribute_kwargs: passed to captum's ``attribute`` (e.g. ``n_steps=32``).
    """

    def __init__(
        self,
        captum_cls: type,
        *,
        name: str | None = None,
        base: type | None = None,
        layer: str | None = None,
        batch_size: int = 32,
        seed: int = 0,
        **attribute_kwargs: Any,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        self.captum_cls, self.base, self.layer = captum_cls, base, layer
        self.attribute_kwargs = attribute_kwargs
        self.is_layer = captum_cls.__name__.startswith("Layer")
        label = captum_cls.__name__ if base is None else f"{captum_cls.__name__}({base.__name__})"
        self.name = name or label

    def _build(self, model: nn.Module) -> Any:
        if self.base is not None:
            return self.captum_cls(self.base(model))
        if self.is_layer:
            layer = named_layer(model, self.layer) if self.layer else last_conv(model)
            return self.captum_cls(model, layer)
        return self.captum_cls(model)

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int
    ) -> torch.Tensor:
        method = self._build(model)
        x = x.detach().clone().requires_grad_(True)
        devices = [x.device] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            torch.manual_seed(derive_seed(self.seed, "captum", offset))
            maps = method.attribute(x, target=target, **self.attribute_kwargs)
        if self.is_layer and maps.shape[-2:] != x.shape[-2:]:
            maps = F.interpolate(
                maps.mean(1, keepdim=True), size=x.shape[-2:], mode="bilinear", align_corners=False
            )
        return maps.detach()


def captum_methods(seed: int = 0) -> list[CaptumMethod]:
    """The captum methods salcheck tests against, with small sample counts for speed."""
    from captum.attr import (
        GuidedBackprop,
        InputXGradient,
        IntegratedGradients,
        LayerGradCam,
        NoiseTunnel,
        Saliency,
    )

    return [
        CaptumMethod(Saliency, abs=False, seed=seed),
        CaptumMethod(IntegratedGradients, n_steps=16, seed=seed),
        CaptumMethod(InputXGradient, seed=seed),
        CaptumMethod(GuidedBackprop, seed=seed),
        CaptumMethod(
            NoiseTunnel,
            base=Saliency,
            name="SmoothGrad",
            nt_type="smoothgrad",
            nt_samples=8,
            stdevs=0.1,
            seed=seed,
        ),
        CaptumMethod(LayerGradCam, seed=seed),
    ]

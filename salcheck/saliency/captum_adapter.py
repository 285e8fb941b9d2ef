"""Turn captum attribution classes into salcheck saliency methods (needs ``captum``).

``CaptumMethod(captum.attr.IntegratedGradients)`` behaves like any salcheck method. Layer
methods (``LayerGradCam``) get the model's last convolutional layer unless ``layer`` names one,
and their maps are upsampled bilinearly to the image size (trilinearly to a volume's).
``NoiseTunnel`` wraps a base class:
``CaptumMethod(NoiseTunnel, base=Saliency, nt_type="smoothgrad", nt_samples=10)``. captum's
noise is drawn from torch's global generator; the adapter runs each batch inside
``torch.random.fork_rng`` seeded from (seed, first image index), so maps are reproducible and the
caller's global random state is left exactly as it was; the same holds for numpy's global
generator, which captum's ``GradientShap`` draws from (seeded per batch, then restored).
``baselines="zeros"`` gives methods that need baselines (``GradientShap``, ``DeepLift``) an
all-zero image of the input's size.

Tags: the maps are unsigned (``signed`` False) for ``Saliency`` and SmoothGrad over it unless
``abs=False`` is passed; every adapted method is deterministic, its noise being seeded.

Silent equivalences: captum's ``GuidedBackprop``, ``Deconvolution`` and ``GuidedGradCam``
override the backward pass of ``nn.ReLU`` modules only. On a network whose rectifiers are
other modules (the study's ``nn.LeakyReLU``) they return the plain gradient (or Grad-CAM times
it) without a word; the adapter warns with :class:`~salcheck.errors.SilentEquivalenceWarning`
and names :mod:`salcheck.saliency.rectifier`, which applies the rule to every rectifier.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from salcheck.errors import InvalidArgument, SilentEquivalenceWarning
from salcheck.rng import derive_seed
from salcheck.saliency.base import CONTROLS, SaliencyMethod
from salcheck.saliency.rectifier import RECTIFIERS


def last_conv(model: nn.Module) -> nn.Module:
    """The last ``nn.Conv2d`` (of a network for volumes, ``nn.Conv3d``) of ``model``
    (Grad-CAM's usual layer)."""
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    if not convs:
        msg = f"{type(model).__name__} has no Conv2d or Conv3d layer for a layer attribution method"
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


_CAPTUM_NOTES = ("Setting backward hooks on ReLU", "Setting forward, backward hooks and attributes")


class CaptumMethod(SaliencyMethod):
    """Adapter from a captum ``Attribution`` class to :class:`SaliencyMethod`.

    Args:
        captum_cls: e.g. ``captum.attr.Saliency`` or ``captum.attr.LayerGradCam``.
        name: label for reports (default: captum's ``get_name()``).
        base: for ``NoiseTunnel``, the captum class it wraps.
        layer: for layer methods, a module name in the model (default: last Conv2d).
        **attribute_kwargs: passed to captum's ``attribute`` (e.g. ``n_steps=32``).
    """

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

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
        absolute = (base or captum_cls).__name__ == "Saliency" and attribute_kwargs.get("abs", True)
        self.signed = not absolute

    def attribute(
        self, model: nn.Module, images: torch.Tensor | np.ndarray, target: int = CONTROLS
    ) -> torch.Tensor:
        # warned once a call, not once a batch: each batch's catch_warnings resets the registry
        # that shows a warning once, so a warning raised per batch repeats in every batch
        if self.captum_cls.__name__ in _RELU_ONLY:
            _warn_if_no_relu(self.captum_cls.__name__, model)
        return super().attribute(model, images, target)

    def _build(self, model: nn.Module) -> Any:
        if self.base is not None:
            return self.captum_cls(self.base(model))
        if self.is_layer:
            layer = named_layer(model, self.layer) if self.layer else last_conv(model)
            return self.captum_cls(model, layer)
        return self.captum_cls(model)

    def call_kwargs(self, x: torch.Tensor) -> dict[str, Any]:
        """The keyword arguments of captum's ``attribute`` for the batch ``x``."""
        kwargs = dict(self.attribute_kwargs)
        if isinstance(kwargs.get("baselines"), str):
            if kwargs["baselines"] != "zeros":
                msg = f"baselines must be a tensor or 'zeros', got baselines={kwargs['baselines']!r}"
                raise InvalidArgument(msg)
            kwargs["baselines"] = torch.zeros_like(x[:1])
        return kwargs

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        method = self._build(model)
        x = x.detach().clone().requires_grad_(True)
        devices = [x.device] if x.device.type == "cuda" else []
        kwargs = self.call_kwargs(x)
        seed = derive_seed(self.seed, "captum", offset)
        numpy_state = np.random.get_state()  # GradientShap draws from numpy's global generator
        try:
            with (
                torch.random.fork_rng(devices=devices),
                torch.enable_grad(),
                warnings.catch_warnings(),
            ):
                for note in _CAPTUM_NOTES:  # captum's notes that it sets hooks, on every call
                    warnings.filterwarnings("ignore", message=note, category=UserWarning)
                torch.manual_seed(seed)
                np.random.seed(seed % 2**32)
                maps = method.attribute(x, target=target, **kwargs)
        finally:
            np.random.set_state(numpy_state)
        if self.is_layer and maps.shape[2:] != x.shape[2:]:
            mode = "bilinear" if x.ndim == 4 else "trilinear"  # images, volumes
            maps = F.interpolate(
                maps.mean(1, keepdim=True), size=x.shape[2:], mode=mode, align_corners=False
            )
        return maps.detach()


class ScaledOcclusion(CaptumMethod):
    """captum's Occlusion with a window of N/8 and a stride of N/16 pixels (voxels, for
    volumes) along each axis (zero fill), so the number of windows does not change with N."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    def __init__(self, *, batch_size: int = 32, seed: int = 0) -> None:
        from captum.attr import Occlusion  # optional: salcheck[captum]

        super().__init__(Occlusion, batch_size=batch_size, seed=seed)

    def call_kwargs(self, x: torch.Tensor) -> dict[str, Any]:
        n, axes = x.shape[-1], x.ndim - 2
        return {
            "sliding_window_shapes": (x.shape[1], *(n // 8,) * axes),
            "strides": (x.shape[1], *(n // 16,) * axes),
        }


#: captum classes whose rule is hooked on ``nn.ReLU`` modules only.
_RELU_ONLY = ("GuidedBackprop", "Deconvolution", "GuidedGradCam")


def _warn_if_no_relu(cls_name: str, model: nn.Module) -> None:
    others = sorted({type(m).__name__ for m in model.modules() if isinstance(m, RECTIFIERS)} - {"ReLU"})
    if others:
        ours = "Deconvolution" if cls_name == "Deconvolution" else "GuidedBackprop"
        msg = (
            f"captum's {cls_name} overrides the backward pass of nn.ReLU only; this "
            f"{type(model).__name__}'s {', '.join(others)} layers keep their plain gradient, so "
            f"its maps may silently equal the gradient's; salcheck.saliency.{ours} "
            f"applies the rule to every rectifier"
        )
        warnings.warn(msg, SilentEquivalenceWarning, stacklevel=3)

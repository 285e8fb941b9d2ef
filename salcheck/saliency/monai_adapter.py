"""Turn MONAI's saliency classes (``monai.visualize``) into salcheck methods (needs ``monai``).

``MonaiMethod(monai.visualize.SmoothGrad, n_samples=8)`` behaves like any salcheck method.
MONAI's gradient classes refuse batches (a check in ``get_grad``: in eval mode each image's
gradient is its own); the adapter runs ``VanillaGrad`` and ``GuidedBackpropGrad`` on whole
batches by skipping that check (the floats are then those of salcheck's batched methods), and
``SmoothGrad`` and ``GuidedBackpropSmoothGrad`` one image at a time (their noise scale is set
from the whole input's range). CAM classes
(``GradCAM``, ``GradCAMpp``) take batches and read ``layer`` (default: the model's last
``nn.Conv2d``, as salcheck's captum Grad-CAM does), their maps upsampled by MONAI to the image
size and scaled by MONAI's default to [0, 1] per image. MONAI's classes register hooks they
never remove and accumulate parameter gradients, so each batch runs on a copy of the model.
``SmoothGrad``'s noise comes from torch's global generator: each image runs inside
``torch.random.fork_rng`` seeded from (seed, image index), so maps are reproducible, do not
depend on the batch size, and the caller's random state is left as it was.

Tags: unsigned (``signed`` False) for CAMs and for SmoothGrad with ``magnitude`` (MONAI's
default: the root mean square of the gradients); deterministic, the noise being seeded.

Silent equivalences: MONAI's ``GuidedBackpropGrad`` (and ``GuidedBackpropSmoothGrad``)
replace, during the call, every module whose *name* contains ``relu`` by a guided ReLU. A
rectifier named otherwise (the study's ``nn.LeakyReLU`` layers, named by their index; MONAI's
own ResNet, whose ReLUs are named ``act``) keeps its plain gradient, so the maps may silently
equal the gradient's; a module named ``relu`` that is not an ``nn.ReLU`` is replaced by one, so
the maps are of another network. The adapter warns with
:class:`~salcheck.errors.SilentEquivalenceWarning` in both cases.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, cast

import torch
from torch import nn

from salcheck.errors import InvalidArgument, SilentEquivalenceWarning
from salcheck.rng import derive_seed
from salcheck.saliency.base import SaliencyMethod
from salcheck.saliency.rectifier import RECTIFIERS

#: MONAI's classes that compute a class activation map from a layer (batches allowed).
CAM_CLASSES = ("GradCAM", "GradCAMpp")
#: MONAI's classes whose guided rule replaces modules by name.
GUIDED_CLASSES = ("GuidedBackpropGrad", "GuidedBackpropSmoothGrad")
#: MONAI's gradient classes that draw no noise: run on whole batches.
BATCHED_CLASSES = ("VanillaGrad", "GuidedBackpropGrad")


def batched(monai_cls: type) -> type:
    """``monai_cls`` without its one-image check: ``get_grad`` as MONAI's, on a whole batch."""

    # A base class given at run time: mypy cannot check a class built on a variable.
    class Batched(monai_cls):  # type: ignore[misc]
        def get_grad(
            self, x: torch.Tensor, index: Any, retain_graph: bool = True, **kwargs: Any
        ) -> torch.Tensor:
            x.requires_grad = True
            self._model(x, class_idx=index, retain_graph=retain_graph, **kwargs)
            return cast("torch.Tensor", x.grad).detach()

    Batched.__name__ = Batched.__qualname__ = monai_cls.__name__
    return Batched


def last_conv_name(model: nn.Module) -> str:
    """The name of the last ``nn.Conv2d`` (of a network for volumes, ``nn.Conv3d``) of
    ``model`` (what MONAI's CAMs are given)."""
    names = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    if not names:
        msg = f"{type(model).__name__} has no Conv2d or Conv3d layer for a class activation map"
        raise InvalidArgument(msg)
    return names[-1]


class MonaiMethod(SaliencyMethod):
    """Adapter from a ``monai.visualize`` class to :class:`SaliencyMethod`.

    Args:
        monai_cls: e.g. ``monai.visualize.VanillaGrad`` or ``monai.visualize.GradCAM``.
        name: label for reports (default: ``<class> (MONAI)``).
        layer: for CAM classes, a module name in the model (default: the last Conv2d).
        **kwargs: passed to the class (e.g. ``n_samples=8`` for SmoothGrad).
    """

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    def __init__(
        self,
        monai_cls: type,
        *,
        name: str | None = None,
        layer: str | None = None,
        batch_size: int = 32,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        self.monai_cls, self.layer, self.kwargs = monai_cls, layer, kwargs
        self.is_cam = monai_cls.__name__ in CAM_CLASSES
        self.name = name or f"{monai_cls.__name__} (MONAI)"
        smooth = "SmoothGrad" in monai_cls.__name__ and kwargs.get("magnitude", True)
        self.signed = not (self.is_cam or smooth)
        if "SmoothGrad" in monai_cls.__name__:
            self.kwargs.setdefault("verbose", False)  # MONAI's progress bar, on every image

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        net = copy.deepcopy(model).eval()
        if self.monai_cls.__name__ in GUIDED_CLASSES:
            _warn_guided_by_name(self.monai_cls.__name__, net)
        with torch.enable_grad():
            if self.is_cam:
                layer = self.layer or last_conv_name(net)
                cam = self.monai_cls(nn_module=net, target_layers=layer, **self.kwargs)
                return torch.as_tensor(cam(x.detach(), class_idx=target)).detach()
            if self.monai_cls.__name__ in BATCHED_CLASSES:
                method = batched(self.monai_cls)(net, **self.kwargs)
                return method(x.detach().clone(), index=target).detach()
            method = self.monai_cls(net, **self.kwargs)
            return torch.cat(
                [self._one(method, x[i : i + 1], target, offset + i) for i in range(len(x))]
            )

    def _one(self, method: Any, x: torch.Tensor, target: int, index: int) -> torch.Tensor:
        """One image's map, MONAI's noise drawn from a generator seeded by (seed, index)."""
        devices = [x.device] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(derive_seed(self.seed, "monai", index))
            return method(x.detach().clone(), index=target).detach()


#: What a report says where MONAI's guided rule made a method equal another.
NAME_RULE_NOTE = (
    "MONAI's GuidedBackpropGrad replaces the modules whose *name* contains `relu`; rectifiers "
    "named otherwise (the study's LeakyReLU layers, named by index; MONAI's ResNet's ReLUs, "
    "named `act`) keep their plain gradient. salcheck warns with `SilentEquivalenceWarning`; "
    "its `guided-backprop` applies the rule to every rectifier."
)


def is_name_rule(method: Any) -> bool:
    """Whether ``method`` (a method, or what holds one as ``.method``: a ``MethodRef``, a
    benchmark entry) is MONAI's name-based guided rule."""
    for _ in range(3):
        method = getattr(method, "method", method)
    return getattr(getattr(method, "monai_cls", None), "__name__", "") in GUIDED_CLASSES


def _warn_guided_by_name(cls_name: str, model: nn.Module) -> None:
    """Warn when MONAI's name-based guided rule misses rectifiers or replaces other modules."""
    named = [(n, m) for n, m in model.named_modules() if n]
    missed = sorted(
        {type(m).__name__ for n, m in named if isinstance(m, RECTIFIERS) and "relu" not in n}
    )
    changed = sorted({type(m).__name__ for n, m in named if "relu" in n and type(m) is not nn.ReLU})
    net = type(getattr(model, "net", model)).__name__
    if missed:
        msg = (
            f"MONAI's {cls_name} replaces the modules whose name contains 'relu'; this {net}'s "
            f"{', '.join(missed)} layers are named otherwise and keep their plain gradient, so its "
            "maps may silently equal the gradient's; salcheck.saliency.GuidedBackprop applies the "
            "rule to every rectifier"
        )
        warnings.warn(msg, SilentEquivalenceWarning, stacklevel=4)
    if changed:
        msg = (
            f"MONAI's {cls_name} replaces every module whose name contains 'relu' by a ReLU; this "
            f"{net}'s {', '.join(changed)} modules so named are replaced, so its maps are of "
            "another network"
        )
        warnings.warn(msg, SilentEquivalenceWarning, stacklevel=4)

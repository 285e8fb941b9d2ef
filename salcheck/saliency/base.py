"""Stage 4: the saliency-method interface (after captum's one-class-per-method shape).

A method is an object with ``attribute(model, images, target) -> maps`` (maps shaped like the
images), a readable ``name`` for reports, and a ``seed`` where it draws random numbers. The
base class batches the work with a bounded batch size; subclasses implement
``attribute_batch``.

Methods declare tags (:data:`TAGS`) that select checks in :mod:`salcheck.checks`:
``signed`` (the maps keep a sign: the study's group maps average signed maps) and
``deterministic`` (the same seed, model and images give the same maps). A method object that
is not a :class:`SaliencyMethod` may set the same attributes; a tag it does not set is
unknown (None), and the checks that need it are skipped, saying why.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from salcheck.errors import InvalidArgument

#: The controls node: the study's maps back-propagate this output (methods.md section 5).
CONTROLS = 0


@runtime_checkable
class AttributionMethod(Protocol):
    """What salcheck evaluates: an object whose ``attribute(model, images, target)`` returns maps
    shaped like the images ([B, C, N, N], or volumes [B, C, N, N, N]). :class:`SaliencyMethod`
    and captum's classes through :class:`~salcheck.saliency.captum_adapter.CaptumMethod` are
    such objects; a method may also declare ``name`` and the tags of :data:`TAGS` (``signed``,
    ``deterministic``).

    Examples:
        >>> from salcheck.saliency import VanillaGradient
        >>> isinstance(VanillaGradient(), AttributionMethod)
        True
    """

    def attribute(self, model: nn.Module, images: Any, target: int = CONTROLS) -> Any: ...


@runtime_checkable
class CaptumAttribution(Protocol):
    """A captum attribution object: built on the model (``cls(forward_func)``), then
    ``attribute(inputs, target=...)``; :class:`~salcheck.saliency.captum_adapter.CaptumMethod`
    turns one into an :class:`AttributionMethod`."""

    def attribute(self, inputs: Any, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ModelContext:
    """The trained model a method is about to map, as the evaluation knows it: its store
    ``key``, its training ``seed`` and ``initial()``, which builds the network at the weights
    its training started from. Methods that draw per model (the null maps) use it through
    :meth:`SaliencyMethod.for_model`; the others ignore it."""

    key: str
    seed: int
    initial: Callable[[], nn.Module]


class SaliencyMethod:
    """Base class. ``attribute`` checks its input, batches it and returns float32 maps."""

    #: The version of what this class computes (its identity in the store's keys, instead of
    #: its source text): bump it when the maps change. A subclass that declares none is named
    #: by its module's source.
    version = 1
    name: str = "saliency method"
    #: True when the maps keep a sign (the study's group maps average signed maps).
    signed: bool = True
    #: True when the same seed, model and images give the same maps.
    deterministic: bool = True

    def __init__(self, *, batch_size: int = 64, seed: int = 0) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            msg = f"batch_size must be an integer >= 1, got batch_size={batch_size!r}"
            raise InvalidArgument(msg)
        self.batch_size = batch_size
        self.seed = seed

    def get_name(self) -> str:
        return self.name

    def for_model(self, context: ModelContext) -> SaliencyMethod:
        """The method as it maps the model of ``context``: itself, unless it draws per model."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, seed={self.seed})"

    def attribute(
        self, model: nn.Module, images: torch.Tensor | np.ndarray, target: int = CONTROLS
    ) -> torch.Tensor:
        """Maps of ``images`` ([B, 1, N, N], or volumes [B, 1, N, N, N]) for output ``target``,
        shaped like the images.

        A method whose ``attribute_batch`` is shape-agnostic (the vanilla gradient) maps volumes
        as it maps images. The model is evaluated in eval mode and handed back in the mode it
        was found in.
        """
        x = torch.as_tensor(images, dtype=torch.float32)
        if x.ndim not in (4, 5):
            msg = (
                "images must be volumes shaped [B, C, D, H, W] or images shaped [B, C, H, W], "
                f"got {tuple(x.shape)}"
            )
            raise InvalidArgument(msg)
        n_out = _n_outputs(model, x)
        if (
            isinstance(target, bool)
            or not isinstance(target, (int, np.integer))
            or not (0 <= target < n_out)
        ):
            msg = f"target must be an output index in [0, {n_out - 1}], got target={target!r}"
            raise InvalidArgument(msg)
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        parts = []
        takes_offset = _takes_offset(self.attribute_batch)
        try:
            for i in range(0, len(x), self.batch_size):
                batch = x[i : i + self.batch_size].to(device)
                extra = {"offset": i} if takes_offset else {}
                maps = self.attribute_batch(model, batch, int(target), **extra)
                parts.append(torch.as_tensor(maps).detach().to("cpu", torch.float32))
        finally:
            model.train(was_training)  # the caller's model is left in the mode it was in
        maps = torch.cat(parts) if parts else torch.zeros_like(x)
        if maps.shape != x.shape:
            msg = (
                f"{self.name} returned maps of shape {tuple(maps.shape)} for images of shape "
                f"{tuple(x.shape)}; maps must be shaped like the images"
            )
            raise InvalidArgument(msg)
        return maps

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        """Maps of one batch. ``offset``, the batch's first index among all the images, is
        passed only to a method whose ``attribute_batch`` names it (one that seeds per image)."""
        raise NotImplementedError


def _takes_offset(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` accepts a keyword ``offset`` (named, or through ``**kwargs``)."""
    params = inspect.signature(fn).parameters.values()
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        or (p.name == "offset" and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for p in params
    )


#: The tags a method may declare, and what each means.
TAGS = {
    "signed": "the maps keep a sign (False: every value is >= 0)",
    "deterministic": "the same seed, model and images give the same maps",
}


def method_tags(method: object) -> dict[str, bool | None]:
    """The method's declared tags; None where it declares nothing."""
    out: dict[str, bool | None] = {}
    for tag in TAGS:
        value = getattr(method, tag, None)
        out[tag] = None if value is None else bool(value)
    return out


def _n_outputs(model: nn.Module, x: torch.Tensor) -> int:
    out_features = getattr(model, "n_outputs", None)
    if out_features is not None:
        return int(out_features)
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if last:
        return int(last[-1].out_features)
    with torch.no_grad():
        return int(model.eval()(x[:1]).shape[1])

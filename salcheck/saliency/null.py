"""Null saliency methods: baselines that know nothing about the model.

- :class:`RandomMap`: iid N(0, 1) pixels, seeded per image (seed, image index), so a map does
  not depend on the batch size; in an evaluation, each model draws its own maps (the seed is
  derived from the model's key), so a null's difference between two cells is a real draw and
  not a copy. Its criteria b, c sit at chance (1).
- :class:`SobelEdgeMap`: the Sobel gradient magnitude of the input, a map that follows the
  image's edges, not the model.
- :class:`ConstantMap`: ones everywhere.
- :class:`UntrainedNetwork`: another method (the vanilla gradient by default) on the model's
  own architecture at its own initial weights, the ones its training started from (outside an
  evaluation: every trainable layer re-drawn from a seeded generator, BatchNorm reset): what
  the architecture and the input alone put in a map (Adebayo et al. 2018).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from salcheck.models.networks import reinitialise
from salcheck.rng import derive_seed, torch_generator
from salcheck.saliency.base import ModelContext, SaliencyMethod
from salcheck.saliency.gradients import VanillaGradient


class RandomMap(SaliencyMethod):
    """iid standard-normal maps, independent of model and input."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    name = "Random map"

    def for_model(self, context: ModelContext) -> RandomMap:
        """This null with its own draw for the model of ``context`` (seeded by its key)."""
        drawn = copy.copy(self)
        drawn.seed = derive_seed(self.seed, "random-map-model", context.key)
        return drawn

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        out = torch.empty(x.shape)
        for i in range(len(x)):
            g = torch.Generator().manual_seed(derive_seed(self.seed, "random-map", offset + i))
            out[i] = torch.randn(x.shape[1:], generator=g)
        return out


def sobel_kernels3d(device: torch.device | str = "cpu") -> torch.Tensor:
    """The three 3 x 3 x 3 Sobel kernels [3, 1, 3, 3, 3]: the derivative [-1, 0, 1] along one
    axis times the smoothing [1, 2, 1] along the other two (``scipy.ndimage.sobel``'s)."""
    d = torch.tensor([-1.0, 0.0, 1.0], device=device)
    s = torch.tensor([1.0, 2.0, 1.0], device=device)
    return torch.stack(
        [
            torch.einsum("i,j,k->ijk", d, s, s),
            torch.einsum("i,j,k->ijk", s, d, s),
            torch.einsum("i,j,k->ijk", s, s, d),
        ]
    ).unsqueeze(1)


class SobelEdgeMap(SaliencyMethod):
    """sqrt(Gx^2 + Gy^2) of each input channel with 3 x 3 Sobel kernels, zero padding; on
    volumes sqrt(Gx^2 + Gy^2 + Gz^2) with the 3 x 3 x 3 kernels of :func:`sobel_kernels3d`."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    name = "Sobel edge map"
    signed = False

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        if x.ndim == 5:
            b, c, *spatial = x.shape
            g = F.conv3d(x.reshape(b * c, 1, *spatial), sobel_kernels3d(x.device), padding=1)
            return g.pow(2).sum(1).sqrt().reshape(x.shape)
        kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], device=x.device)
        k = torch.stack([kx, kx.T]).unsqueeze(1)
        b, c, h, w = x.shape
        g = F.conv2d(x.reshape(b * c, 1, h, w), k, padding=1)
        return g.pow(2).sum(1).sqrt().reshape(b, c, h, w)


class ConstantMap(SaliencyMethod):
    """The same value at every pixel."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    name = "Constant map"
    signed = False

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        return torch.ones_like(x)


class UntrainedNetwork(SaliencyMethod):
    """``base`` applied to a re-initialised copy of the model; the caller's model is untouched."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    def __init__(self, base: SaliencyMethod | None = None, *, batch_size: int = 64, seed: int = 0):
        super().__init__(batch_size=batch_size, seed=seed)
        self.base = base if base is not None else VanillaGradient(seed=seed)
        self.name = f"{self.base.name} of an untrained network"
        self.signed, self.deterministic = self.base.signed, self.base.deterministic
        self._initial: nn.Module | None = None  # set by for_model

    def for_model(self, context: ModelContext) -> UntrainedNetwork:
        """This null on the model of ``context`` at the initial weights its training started from."""
        bound = copy.copy(self)
        bound._initial = context.initial().eval()
        return bound

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        if self._initial is not None:
            untrained = self._initial.to(x.device)
        else:
            untrained = copy.deepcopy(model)
            reinitialise(untrained, torch_generator(derive_seed(self.seed, "untrained")))
        return self.base.attribute_batch(untrained.eval(), x, target, offset=offset)

"""Guided backpropagation and deconvolution, with their rule applied to every rectifier.

Both change only the backward pass through the rectifiers (Springenberg et al. 2015,
arXiv 1412.6806; Zeiler & Fergus 2014): with g the gradient arriving at a rectifier from above,

- guided backpropagation passes relu(f'(x) g): the usual local derivative, then only the
  positive part (for LeakyReLU, f'(x) = 1 or the negative slope);
- deconvolution passes relu(g): the positive part, ignoring the forward activation.

captum's ``GuidedBackprop`` and ``Deconvolution`` hook ``nn.ReLU`` modules only; on the study's
networks, which use ``nn.LeakyReLU``, they return the plain gradient without a word. These
classes hook every rectifier in :data:`RECTIFIERS`, so on a LeakyReLU network they are not the
gradient; on a ReLU network they equal captum's. The model's hooks are removed afterwards.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from salcheck.errors import InvalidArgument
from salcheck.saliency.base import SaliencyMethod

#: The activation modules whose backward pass the rules replace.
RECTIFIERS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU)


def rectifiers(model: nn.Module) -> list[nn.Module]:
    """The model's rectifier modules; a model without any cannot take these rules."""
    found = [m for m in model.modules() if isinstance(m, RECTIFIERS)]
    if not found:
        accepted = ", ".join(c.__name__ for c in RECTIFIERS)
        msg = f"{type(model).__name__} has no rectifier module ({accepted}) to apply the rule to"
        raise InvalidArgument(msg)
    return found


class _RectifierRule(SaliencyMethod):
    version = 1  # of what it computes (its identity in the store's keys): bump on a change
    #: True: replace the gradient by relu(grad_output) (deconvolution); False: relu(grad_input).
    use_grad_output: bool

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        def rule(
            module: nn.Module,
            grad_input: tuple[torch.Tensor | None, ...],
            grad_output: tuple[torch.Tensor | None, ...],
        ) -> tuple[torch.Tensor | None, ...]:
            given = grad_output if self.use_grad_output else grad_input
            return tuple(None if g is None else F.relu(g) for g in given)

        hooks = [m.register_full_backward_hook(rule) for m in rectifiers(model)]
        try:
            x = x.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(model(x)[:, target].sum(), x)
        finally:
            for h in hooks:
                h.remove()
        return grad


class GuidedBackprop(_RectifierRule):
    """Guided backpropagation: relu(f'(x) g) through every rectifier."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    name = "GuidedBackprop (every rectifier)"
    use_grad_output = False


class Deconvolution(_RectifierRule):
    """Deconvolution: relu(g) through every rectifier, whatever the forward activation."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    name = "Deconvolution (every rectifier)"
    use_grad_output = True

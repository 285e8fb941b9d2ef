"""The study's saliency map: the vanilla gradient (Simonyan et al. 2013, arXiv 1312.6034).

For an input x (normalised as the network saw it in training) and output k, the map is the
signed input gradient d logit_k / d x, model in eval mode, pre-softmax logit. The study takes
k = the controls node (methods.md section 5): its intensities say how each pixel would have to
change to make the image look more like a control.
"""

from __future__ import annotations

import torch
from torch import nn

from salcheck.saliency.base import SaliencyMethod


class VanillaGradient(SaliencyMethod):
    """Signed gradient of the target logit with respect to the input."""

    version = 1  # of what it computes (its identity in the store's keys): bump on a change

    name = "Vanilla gradient"

    def attribute_batch(
        self, model: nn.Module, x: torch.Tensor, target: int, *, offset: int = 0
    ) -> torch.Tensor:
        x = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
            (grad,) = torch.autograd.grad(logits[:, target].sum(), x)
        return grad

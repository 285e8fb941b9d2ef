"""Stage 2: the study's optimisation criteria (methods.md section 4), chosen by name.

On two logits x and the one-hot target y, each a mean over all N x 2 entries:
CE = cross-entropy (default); L1 = mean |x - y|; L1Norm = mean |softmax(x) - y|;
SmoothL1 = mean of 0.5 (x - y)^2 if |x - y| < 1 else |x - y| - 0.5 (beta 1);
MSENorm = mean (softmax(x) - y)^2. Predictions are argmax of the logits whatever the loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from salcheck.errors import check_choice

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _one_hot(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.one_hot(target, logits.shape[1]).to(logits.dtype)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CE: mean of -log softmax(x)[y]."""
    return F.cross_entropy(logits, target)


def l1(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1: mean |x - y| on raw logits."""
    return (logits - _one_hot(logits, target)).abs().mean()


def l1_norm(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1Norm: mean |softmax(x) - y|."""
    return (logits.softmax(1) - _one_hot(logits, target)).abs().mean()


def smooth_l1(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SmoothL1 (beta = 1) on raw logits."""
    return F.smooth_l1_loss(logits, _one_hot(logits, target), beta=1.0)


def mse_norm(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSENorm: mean (softmax(x) - y)^2."""
    return ((logits.softmax(1) - _one_hot(logits, target)) ** 2).mean()


LOSSES: dict[str, Loss] = {
    "CE": cross_entropy,
    "L1": l1,
    "L1Norm": l1_norm,
    "SmoothL1": smooth_l1,
    "MSENorm": mse_norm,
}


def get_loss(name: str) -> Loss:
    """The loss called ``name`` (CE, L1, L1Norm, SmoothL1, MSENorm)."""
    check_choice("loss", name, tuple(LOSSES))
    return LOSSES[name]

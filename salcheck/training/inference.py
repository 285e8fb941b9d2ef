"""Inference helpers shared by training and evaluation: normalisation, prediction, accuracy.

Images are min-max normalised per image before anything else (methods.md section 2); the
model is evaluated in eval mode in batches.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from salcheck.cohort import LABEL_NAMES, SUBTYPE_NAMES, AnyCohort


def normalise(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Per-image min-max normalisation: (x - min) / (max - min); a flat image becomes 0."""
    x = torch.as_tensor(images, dtype=torch.float32)
    flat = x.reshape(x.shape[0], -1)
    lo = flat.min(1).values.view(-1, *[1] * (x.ndim - 1))
    hi = flat.max(1).values.view(-1, *[1] * (x.ndim - 1))
    return (x - lo) / (hi - lo).clamp_min(1e-12)


def balanced_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean over labels of the recall of that label."""
    recalls = [float((pred[labels == k] == k).mean()) for k in np.unique(labels)]
    return float(np.mean(recalls))


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Logits of normalised images ``x`` in eval mode, in batches."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat(
        [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    )


def accuracy(model: nn.Module, cohort: AnyCohort) -> dict[str, float]:
    """Accuracy on ``cohort`` overall (balanced), per label and per (label, subtype)."""
    pred = predict(model, normalise(cohort.images)).argmax(1).numpy()
    out = {"balanced_accuracy": balanced_accuracy(pred, cohort.labels)}

    for lab in np.unique(cohort.labels):
        keep = cohort.labels == lab
        out[f"accuracy_{LABEL_NAMES[lab]}"] = float((pred[keep] == lab).mean())
        for sub in np.unique(cohort.subtypes[keep]):
            k2 = keep & (cohort.subtypes == sub)
            out[f"accuracy_{LABEL_NAMES[lab]}_{SUBTYPE_NAMES[sub]}"] = float((pred[k2] == lab).mean())
    return out

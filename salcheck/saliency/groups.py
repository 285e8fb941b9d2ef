"""Group maps (methods.md section 5): the plain mean of signed per-image maps over a group.

M = mean of the maps of the test cohort's typical atrophied images; M-dagger = the same over
its atypical images. Images are min-max normalised first, as in training.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from salcheck.cohort import AnyCohort
from salcheck.errors import InvalidArgument
from salcheck.saliency.base import CONTROLS, SaliencyMethod
from salcheck.training.inference import normalise

GROUPS = {"typical": 1, "atypical": 2}


def subtype_maps(
    method: SaliencyMethod, model: nn.Module, cohort: AnyCohort, target: int = CONTROLS
) -> dict[str, np.ndarray]:
    """Per-image maps [n_group, N, N] of the atrophied typical and atypical test images.

    Examples:
        >>> from salcheck.cohort import make_cohort, preset
        >>> from salcheck.models import build_model
        >>> from salcheck.rng import torch_generator
        >>> from salcheck.saliency import VanillaGradient
        >>> test = make_cohort(preset("test", image_size=32, n_per_class=4), seed=1)
        >>> model = build_model("convnet", 32, generator=torch_generator(0)).eval()
        >>> maps = subtype_maps(VanillaGradient(), model, test)
        >>> {g: m.shape for g, m in maps.items()}, group_map(maps["typical"]).shape
        ({'typical': (2, 32, 32), 'atypical': (2, 32, 32)}, (32, 32))
    """
    out = {}
    for group, subtype in GROUPS.items():
        idx = cohort.indices(label=1, subtype=subtype)
        if len(idx) == 0:
            msg = f"the cohort has no atrophied {group} images (subtype {subtype}) to map"
            raise InvalidArgument(msg)
        maps = method.attribute(model, normalise(cohort.images[idx]), target)
        out[group] = maps[:, 0].numpy()
    return out


def group_map(maps: np.ndarray | torch.Tensor) -> np.ndarray:
    """Signed mean over images of [n, N, N] (or [n, 1, N, N]) maps; of volumes, [n, N, N, N]
    (or [n, 1, N, N, N])."""
    m = np.asarray(maps, dtype=np.float64)
    if m.shape[0] == 0:
        msg = "cannot average an empty group of maps (0 images)"
        raise InvalidArgument(msg)
    if m.ndim in (4, 5) and m.shape[1] == 1:  # the channel axis
        m = m[:, 0]
    return m.mean(0)

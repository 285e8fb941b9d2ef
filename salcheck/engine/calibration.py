"""F6's calibration: iid random maps drawn and scored on a cohort (chance: b = c = 1).

The one place outside an evaluation where maps are drawn for a criterion: the random map
(:class:`~salcheck.saliency.RandomMap`) ignores the network it is handed, so an untrained
ConvNet stands in for one; the criteria (:func:`~salcheck.criteria.regions.group_map_scores`)
only score the maps they are given.
"""

from __future__ import annotations

import numpy as np
import torch

from salcheck.cohort import Cohort
from salcheck.criteria.regions import SUBTYPES, group_map_scores
from salcheck.models import build_model
from salcheck.saliency import RandomMap, group_map, subtype_maps


def random_map_criteria(cohort: Cohort, draws: int, seed: int = 0) -> dict[str, float]:
    """Mean b, c, b†, c† over ``draws`` iid random-map group maps of ``cohort`` (chance: 1)."""
    model = build_model("convnet", cohort.image_size, generator=torch.Generator())
    values = []
    for k in range(draws):
        maps = subtype_maps(RandomMap(seed=seed + k), model, cohort)
        values.append(group_map_scores({g: group_map(maps[g]) for g in SUBTYPES}))
    return {key: float(np.mean([v[key] for v in values])) for key in values[0]}

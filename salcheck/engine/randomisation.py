"""Cascading model randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"): the
engine re-initialises the trainable layers one by one from the output backwards, cumulatively,
and after each step recomputes the maps; :mod:`salcheck.criteria.randomisation` scores them.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from salcheck.cohort import AnyCohort
from salcheck.criteria.protocol import EvalProtocol
from salcheck.criteria.randomisation import spearman_rows
from salcheck.criteria.regions import group_map_scores, group_regions
from salcheck.errors import InvalidArgument
from salcheck.models.networks import reinitialise, trainable_layers
from salcheck.rng import derive_seed, torch_generator
from salcheck.saliency.base import CONTROLS, AttributionMethod
from salcheck.training.inference import normalise


def cascading_randomisation(
    method: AttributionMethod,
    model: nn.Module,
    cohort: AnyCohort,
    *,
    seed: int = 0,
    max_images: int = 64,
    protocol: EvalProtocol | None = None,
) -> list[dict[str, float | str]]:
    """One row per step: the layer just re-initialised, mean Spearman rho of |map| against
    the trained model's maps on the typical images, and b, c of the randomised typical map.

    Step 0 is the trained model itself (rho = 1). Works on a deep copy; ``model`` is untouched.
    """
    idx = cohort.indices(label=1, subtype=1)[:max_images]
    if len(idx) == 0:
        msg = "the cohort has no atrophied typical images to map"
        raise InvalidArgument(msg)
    x = normalise(cohort.images[idx])
    m = copy.deepcopy(model).eval()
    protocol = protocol or EvalProtocol()
    regions = {"typical": group_regions(cohort, idx, protocol)}

    def typical_maps() -> np.ndarray:
        return method.attribute(m, x, CONTROLS)[:, 0].numpy()

    before = typical_maps()
    gen = torch_generator(derive_seed(seed, "randomisation"))
    rows: list[dict[str, float | str]] = []

    def record(layer: str, maps: np.ndarray) -> None:
        scores = group_map_scores({"typical": protocol.group_map(maps)}, regions)
        rho = spearman_rows(np.abs(before), np.abs(maps))  # NaN for a constant map
        rows.append(
            {
                "layer": layer,
                "spearman": float(np.nanmean(rho)) if np.isfinite(rho).any() else math.nan,
                "b": scores["b"],
                "c": scores["c"],
            }
        )

    record("none", before)
    for name, layer in reversed(trainable_layers(m)):
        with torch.no_grad():
            reinitialise(layer, gen)
        record(name, typical_maps())
    return rows

"""Criteria b and c on group maps (methods.md section 6; adopted definitions).

With mean_R(M) = mean of |M| over region R, R_typ and R_atyp the analytic boxes and Rest the
brain outside both boxes:

- b  (separability)  = mean_Rtyp(M)   / mean_Ratyp(M)      on the typical group map M;
- b† (separability)  = mean_Ratyp(M†) / mean_Rtyp(M†)      on the atypical group map M†;
- c  (specificity)   = mean_Rtyp(M)   / mean_Rest(M);
- c† (specificity)   = mean_Ratyp(M†) / mean_Rest(M†).

A map with no spatial preference gives 1 for each; higher is better.
"""

from __future__ import annotations

import numpy as np

from salcheck.cohort.geometry import region_masks
from salcheck.criteria.base import Criterion, Inputs, ratio, region_mean
from salcheck.errors import InvalidArgument

_OTHER = {"typical": "atypical", "atypical": "typical"}


def _regions(group_map: np.ndarray, subtype: str) -> dict[str, np.ndarray]:
    """The analytic regions for a square group map, after checking both arguments."""
    if subtype not in _OTHER:
        msg = f"subtype must be 'typical' or 'atypical', got {subtype!r}"
        raise InvalidArgument(msg)
    m = np.asarray(group_map)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        msg = f"a group map must be a square [N, N] array, got shape {m.shape}"
        raise InvalidArgument(msg)
    return region_masks(m.shape[0])


def separability(group_map: np.ndarray, subtype: str = "typical") -> float:
    """b (subtype="typical") or b† (subtype="atypical") of a group map."""
    r = _regions(group_map, subtype)
    return ratio(region_mean(group_map, r[subtype]), region_mean(group_map, r[_OTHER[subtype]]))


def specificity(group_map: np.ndarray, subtype: str = "typical") -> float:
    """c (subtype="typical") or c† (subtype="atypical") of a group map."""
    r = _regions(group_map, subtype)
    return ratio(region_mean(group_map, r[subtype]), region_mean(group_map, r["rest"]))


class Separability(Criterion):
    name = "separability"
    symbol = "b"
    formula = "b = mean_Rtyp|M| / mean_Ratyp|M|;  b† = mean_Ratyp|M†| / mean_Rtyp|M†|"
    chance = 1.0
    category = "group map"
    keys = ("b", "b_dagger")

    def compute(self, inputs: Inputs) -> dict[str, float]:
        g = inputs.groups
        return {
            "b": separability(g["typical"], "typical"),
            "b_dagger": separability(g["atypical"], "atypical"),
        }


class Specificity(Criterion):
    name = "specificity"
    symbol = "c"
    formula = "c = mean_Rtyp|M| / mean_Rest|M|;  c† = mean_Ratyp|M†| / mean_Rest|M†|"
    chance = 1.0
    category = "group map"
    keys = ("c", "c_dagger")

    def compute(self, inputs: Inputs) -> dict[str, float]:
        g = inputs.groups
        return {
            "c": specificity(g["typical"], "typical"),
            "c_dagger": specificity(g["atypical"], "atypical"),
        }


def random_map_criteria(cohort, draws: int, seed: int = 0) -> dict[str, float]:
    """Mean b, c, b†, c† over ``draws`` iid random-map group maps of ``cohort`` (chance: 1)."""
    import torch

    from salcheck.models.networks import build_model
    from salcheck.saliency import RandomMap, group_map, subtype_maps

    model = build_model("convnet", cohort.image_size, generator=torch.Generator())
    values = []
    for k in range(draws):
        maps = subtype_maps(RandomMap(seed=seed + k), model, cohort)
        values.append(map_criteria(group_map(maps["typical"]), group_map(maps["atypical"])))
    return {key: float(np.mean([v[key] for v in values])) for key in values[0]}


def map_criteria(typical_map: np.ndarray, atypical_map: np.ndarray) -> dict[str, float]:
    """b, c, b†, c† (keys b, c, b_dagger, c_dagger) of the two group maps."""
    return {
        "b": separability(typical_map, "typical"),
        "c": specificity(typical_map, "typical"),
        "b_dagger": separability(atypical_map, "atypical"),
        "c_dagger": specificity(atypical_map, "atypical"),
    }

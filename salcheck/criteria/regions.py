"""Criteria b and c on group maps (methods.md section 6; adopted definitions).

With mean_R(M) = mean of |M| over region R, R_typ and R_atyp the regions of ROI 2 and ROI 1
(analytic boxes, or the group's drawn footprints: :class:`~salcheck.criteria.protocol.EvalProtocol`)
and Rest the brain outside both:

- b  (separability)  = mean_Rtyp(M)   / mean_Ratyp(M)      on the typical group map M;
- b† (separability)  = mean_Ratyp(M†) / mean_Rtyp(M†)      on the atypical group map M†;
- c  (specificity)   = mean_Rtyp(M)   / mean_Rest(M);
- c† (specificity)   = mean_Ratyp(M†) / mean_Rest(M†).

A map with no spatial preference gives 1 for each; higher is better. :func:`group_map_scores`
is the one place these four numbers are computed. On volumes (group maps [N, N, N]) the regions
are the 3-D boxes and brain ellipsoid (:mod:`salcheck.cohort.phantoms3d`) or the drawn
ellipsoids, and the formulas are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from salcheck.cohort import AnyCohort, atypical_box3d, brain_mask3d, typical_box3d
from salcheck.cohort.geometry import atypical_box, brain_mask, check_image_size, typical_box
from salcheck.criteria.base import Criterion, Inputs, ratio, region_mean
from salcheck.criteria.protocol import EvalProtocol
from salcheck.errors import InvalidArgument

SUBTYPES = ("typical", "atypical")
_OTHER = {"typical": "atypical", "atypical": "typical"}
Regions = Mapping[str, np.ndarray]  # "typical", "atypical", "rest" -> boolean [N, N] or [N, N, N]


def _brain(n: int, dims: int, rim: bool) -> np.ndarray:
    return brain_mask(n, rim=rim) if dims == 2 else brain_mask3d(n, rim=rim)


def analytic_regions(
    image_size: int, protocol: EvalProtocol | None = None, *, dims: int = 2
) -> dict[str, np.ndarray]:
    """The analytic boxes R_typ, R_atyp and Rest (the brain, or the skull, outside both), as
    [N, N] masks, or [N, N, N] ones with ``dims=3``."""
    n = check_image_size(image_size)
    rim = (protocol or EvalProtocol()).rest == "skull"
    if dims == 2:
        typ, atyp = typical_box(n).mask(n), atypical_box(n).mask(n)
    elif dims == 3:
        typ, atyp = typical_box3d(n).mask(n), atypical_box3d(n).mask(n)
    else:
        msg = f"dims must be 2 (images) or 3 (volumes), got dims={dims!r}"
        raise InvalidArgument(msg)
    return {"typical": typ, "atypical": atyp, "rest": _brain(n, dims, rim) & ~typ & ~atyp}


def group_regions(
    cohort: AnyCohort, members: np.ndarray, protocol: EvalProtocol
) -> dict[str, np.ndarray]:
    """The regions a group map of ``cohort``'s images ``members`` is scored on: the analytic
    boxes, or (``regions="drawn"``) the union of those images' ROI-2 and ROI-1 footprints."""
    if protocol.regions == "boxes":
        return analytic_regions(cohort.image_size, protocol, dims=cohort.dims)
    if len(members) == 0:
        msg = "drawn regions need at least one image behind the group map, got none"
        raise InvalidArgument(msg)
    group = cohort.subset(np.asarray(members))
    typ, atyp = np.asarray(group.typical_masks.any(0)), np.asarray(group.atypical_masks.any(0))
    rest = _brain(cohort.image_size, cohort.dims, protocol.rest == "skull") & ~typ & ~atyp
    return {"typical": typ, "atypical": atyp, "rest": rest}


def _check(group_map: np.ndarray, subtype: str) -> np.ndarray:
    if subtype not in _OTHER:
        msg = f"subtype must be 'typical' or 'atypical', got {subtype!r}"
        raise InvalidArgument(msg)
    m = np.asarray(group_map)
    if m.ndim not in (2, 3) or len(set(m.shape)) != 1:
        msg = f"a group map must be a square [N, N] or cubic [N, N, N] array, got shape {m.shape}"
        raise InvalidArgument(msg)
    return m


def separability(
    group_map: np.ndarray, subtype: str = "typical", regions: Regions | None = None
) -> float:
    """b (subtype="typical") or b† (subtype="atypical") of a group map (default regions: the
    analytic boxes)."""
    m = _check(group_map, subtype)
    r = regions if regions is not None else analytic_regions(m.shape[0], dims=m.ndim)
    return ratio(region_mean(m, r[subtype]), region_mean(m, r[_OTHER[subtype]]))


def specificity(
    group_map: np.ndarray, subtype: str = "typical", regions: Regions | None = None
) -> float:
    """c (subtype="typical") or c† (subtype="atypical") of a group map."""
    m = _check(group_map, subtype)
    r = regions if regions is not None else analytic_regions(m.shape[0], dims=m.ndim)
    return ratio(region_mean(m, r[subtype]), region_mean(m, r["rest"]))


def group_map_scores(
    groups: Mapping[str, np.ndarray], regions: Mapping[str, Regions] | None = None
) -> dict[str, float]:
    """b, c (of the typical group map) and b†, c† (of the atypical one), keys ``b``, ``c``,
    ``b_dagger``, ``c_dagger``; ``regions`` per group (default: the analytic boxes). Only the
    groups present are scored.

    Examples:
        >>> m = np.ones((64, 64)); m[47:54, 28:41] = 3.0   # R_typ at N = 64: rows 47-53, cols 28-40
        >>> {k: round(v, 2) for k, v in group_map_scores({"typical": m}).items()}
        {'b': 3.0, 'c': 3.0}
    """
    out: dict[str, float] = {}
    for subtype, suffix in (("typical", ""), ("atypical", "_dagger")):
        if subtype in groups:
            r = regions[subtype] if regions is not None else None
            out["b" + suffix] = separability(groups[subtype], subtype, r)
            out["c" + suffix] = specificity(groups[subtype], subtype, r)
    return out


def _scores(inputs: Inputs) -> dict[str, float]:
    regions = {
        g: group_regions(inputs.cohort, inputs.members[g], inputs.protocol) for g in inputs.groups
    }
    return group_map_scores(inputs.groups, regions)


class Separability(Criterion):
    name = "separability"
    symbol = "b"
    formula = "b = mean_Rtyp|M| / mean_Ratyp|M|;  b† = mean_Ratyp|M†| / mean_Rtyp|M†|"
    chance = 1.0
    category = "group map"
    keys = ("b", "b_dagger")
    symbols: ClassVar[dict[str, str]] = {"b": "b", "b_dagger": "b†"}

    def compute(self, inputs: Inputs) -> dict[str, float]:
        s = _scores(inputs)
        return {k: s[k] for k in self.keys}


class Specificity(Criterion):
    name = "specificity"
    symbol = "c"
    formula = "c = mean_Rtyp|M| / mean_Rest|M|;  c† = mean_Ratyp|M†| / mean_Rest|M†|"
    chance = 1.0
    category = "group map"
    keys = ("c", "c_dagger")
    symbols: ClassVar[dict[str, str]] = {"c": "c", "c_dagger": "c†"}

    def compute(self, inputs: Inputs) -> dict[str, float]:
        s = _scores(inputs)
        return {k: s[k] for k in self.keys}

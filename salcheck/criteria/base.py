"""Stage 5: criteria declare their direction and their chance value (as Quantus metrics do).

A :class:`Criterion` is a callable with class-level metadata: ``name``, ``symbol``,
``direction`` ("higher" is better for every criterion here), ``chance`` (its value under random
behaviour, or None where it depends on the mask) and ``category``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from ..errors import InvalidArgument

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class CriterionInfo:
    """What a reader needs to interpret a criterion's value."""

    name: str
    symbol: str
    formula: str
    direction: Direction
    chance: float | None
    category: str


class Criterion:
    """Base class; subclasses set the ClassVars and implement ``__call__``."""

    name: ClassVar[str]
    symbol: ClassVar[str]
    formula: ClassVar[str]
    direction: ClassVar[Direction] = "higher"
    chance: ClassVar[float | None]
    category: ClassVar[str]

    @classmethod
    def info(cls) -> CriterionInfo:
        return CriterionInfo(cls.name, cls.symbol, cls.formula, cls.direction, cls.chance, cls.category)


def region_mean(group_map: np.ndarray, mask: np.ndarray) -> float:
    """mean_R(M): the mean of |M| over the pixels of region R."""
    m = np.asarray(group_map, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if m.shape != mask.shape:
        msg = f"map of shape {m.shape} does not match region mask of shape {mask.shape}"
        raise InvalidArgument(msg)
    if not mask.any():
        msg = "region mask is empty"
        raise InvalidArgument(msg)
    return float(np.abs(m[mask]).mean())


def ratio(num: float, den: float) -> float:
    """num / den, with x/0 = inf for x > 0 and 0/0 = NaN."""
    if den == 0:
        return float("nan") if num == 0 else float("inf")
    return num / den

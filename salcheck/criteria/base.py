"""Stage 5: criteria declare their direction and their chance value (as Quantus metrics do).

Every criterion has one call shape: ``criterion(inputs) -> {key: value}``, where
:class:`Inputs` holds the trained model, the test cohort, the per-image maps of its atrophied
typical and atypical images and their group maps. ``__call__`` is a template method: it calls
the subclass's ``compute`` and checks that exactly the declared ``keys`` come back as floats.
Class-level metadata (``name``, ``symbol``, ``formula``, ``direction``, ``chance``,
``category``, ``keys``) is what the report and ``salcheck status`` print beside the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from salcheck.cohort import AnyCohort
from salcheck.criteria.protocol import EvalProtocol
from salcheck.errors import InvalidArgument, SalcheckError

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
    keys: tuple[str, ...]
    symbols: Mapping[str, str]  # key -> the symbol a table prints (b_dagger -> b†)


@dataclass(frozen=True)
class Inputs:
    """What every criterion reads.

    ``maps``: per-image maps [n, N, N] by group ("typical", "atypical"); ``members``: the
    cohort indices of those images, in the same order; ``groups``: their group maps [N, N]
    (methods.md section 5); ``protocol``: how the criteria read them.
    """

    model: Any  # the trained torch module
    cohort: AnyCohort
    maps: Mapping[str, np.ndarray]
    groups: Mapping[str, np.ndarray]
    members: Mapping[str, np.ndarray]
    protocol: EvalProtocol = field(default_factory=EvalProtocol)


class Criterion:
    """Base class: subclasses set the ClassVars and implement ``compute``."""

    name: ClassVar[str]
    symbol: ClassVar[str]
    formula: ClassVar[str]
    direction: ClassVar[Direction] = "higher"
    chance: ClassVar[float | None]  # None: depends on the mask (see the subclass)
    category: ClassVar[str]
    keys: ClassVar[tuple[str, ...]]  # the score names ``compute`` returns
    symbols: ClassVar[dict[str, str]]  # key -> the symbol a table prints

    @classmethod
    def info(cls) -> CriterionInfo:
        return CriterionInfo(
            cls.name,
            cls.symbol,
            cls.formula,
            cls.direction,
            cls.chance,
            cls.category,
            cls.keys,
            dict(cls.symbols),
        )

    def __call__(self, inputs: Inputs) -> dict[str, float]:
        """``compute(inputs)``, checked to return exactly ``keys``, as floats."""
        out = self.compute(inputs)
        if set(out) != set(self.keys):
            msg = f"{type(self).__name__} returned keys {sorted(out)}, declared {list(self.keys)}"
            raise SalcheckError(msg)
        return {k: float(out[k]) for k in self.keys}

    def compute(self, inputs: Inputs) -> dict[str, float]:
        raise NotImplementedError


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

"""How the criteria read the maps: the evaluation protocol (methods.md sections 5 and 6).

The poster names its criteria but not how they were computed; each choice below is a switch,
measured against the poster's numbers by ``salcheck protocol`` (docs/definitions.md), and part
of every evaluation's key, so two protocols never share a stored result.

- ``regions``: ``"boxes"``, R_typ and R_atyp as the analytic boxes of every possible placement
  of ROI 2 and ROI 1; or ``"drawn"``, each group's own ROI footprints as drawn, the union over
  the images behind the group map.
- ``averaging``: ``"signed"``, the group map is the mean of the signed per-image maps (as
  ClinicaDL's ``interpret`` computes it); or ``"absolute"``, the mean of |m|.
- ``rest``: ``"brain"``, Rest lies inside the smallest possible brain (the skull rim left out);
  or ``"skull"``, inside the skull ellipse, rim included.
- ``images``: ``"all"`` atrophied test images of the group (ClinicaDL's default); or
  ``"correct"``, only those the model classifies as atrophied.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from salcheck.errors import InvalidArgument, check_choice

CHOICES: dict[str, tuple[str, ...]] = {
    "regions": ("boxes", "drawn"),
    "averaging": ("signed", "absolute"),
    "rest": ("brain", "skull"),
    "images": ("all", "correct"),
}


@dataclass(frozen=True)
class EvalProtocol:
    """The switches of the evaluation protocol; the defaults are methods.md's definitions."""

    regions: str = "boxes"
    averaging: str = "signed"
    rest: str = "brain"
    images: str = "all"

    def __post_init__(self) -> None:
        for name, accepted in CHOICES.items():
            check_choice(name, getattr(self, name), accepted)

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalProtocol:
        bad = set(d) - set(CHOICES)
        if bad:
            msg = f"unknown evaluation protocol field(s) {sorted(bad)}; accepted: {', '.join(CHOICES)}"
            raise InvalidArgument(msg)
        return cls(**d)

    def changes(self, base: EvalProtocol | None = None) -> dict[str, str]:
        """The fields that differ from ``base`` (default: methods.md's definitions)."""
        ref = (base or EvalProtocol()).to_dict()
        return {k: v for k, v in self.to_dict().items() if ref[k] != v}

    def label(self) -> str:
        """``regions drawn, averaging absolute`` or ``methods.md`` for the defaults."""
        changed = self.changes()
        return ", ".join(f"{k} {v}" for k, v in changed.items()) if changed else "methods.md"

    def group_map(self, maps: np.ndarray) -> np.ndarray:
        """The group map of per-image maps [n, N, N] (or [n, 1, N, N]; of volumes [n, N, N, N]
        or [n, 1, N, N, N]): mean of m or of |m|.

        Examples:
            >>> m = np.array([[[1.0, -2.0]], [[-3.0, 2.0]]])
            >>> EvalProtocol().group_map(m).tolist()
            [[-1.0, 0.0]]
            >>> EvalProtocol(averaging="absolute").group_map(m).tolist()
            [[2.0, 2.0]]
        """
        m = np.asarray(maps, dtype=np.float64)
        if m.ndim < 3 or m.shape[0] == 0:
            msg = f"a group map needs maps shaped [n, N, N] with n >= 1, got shape {m.shape}"
            raise InvalidArgument(msg)
        if m.ndim in (4, 5) and m.shape[1] == 1:  # the channel axis
            m = m[:, 0]
        return (np.abs(m) if self.averaging == "absolute" else m).mean(0)

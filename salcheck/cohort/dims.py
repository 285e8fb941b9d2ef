"""Cohorts of either dimension: images (2-D, :mod:`salcheck.cohort.cohort`) or volumes (3-D,
:mod:`salcheck.cohort.phantoms3d`), drawn by one function from the same spec and seed, so the
engine, the training loop and the criteria take either (``cohort.dims`` says which)."""

from __future__ import annotations

from typing import Any

from salcheck.cohort.cohort import Cohort, CohortSpec, make_cohort
from salcheck.cohort.phantoms3d import Cohort3D, make_cohort3d
from salcheck.errors import InvalidArgument
from salcheck.rng import Seed

#: A cohort of images or of volumes.
AnyCohort = Cohort | Cohort3D
#: The dimensions a cohort, a network and a tier may have.
DIMS = (2, 3)


def check_dims(dims: Any) -> int:
    """``dims`` if it is 2 (images) or 3 (volumes), else InvalidArgument naming it."""
    if isinstance(dims, bool) or dims not in DIMS:
        msg = f"dims must be 2 (images) or 3 (volumes), got dims={dims!r}"
        raise InvalidArgument(msg)
    return int(dims)


def make_any_cohort(spec: CohortSpec, seed: Seed, *, dims: int = 2) -> AnyCohort:
    """``make_cohort(spec, seed)`` (``dims=2``) or ``make_cohort3d(spec, seed)`` (``dims=3``):
    the same draws, the volumes' mid-slices being the images."""
    return make_cohort(spec, seed) if check_dims(dims) == 2 else make_cohort3d(spec, seed)

"""Stage 1: cohorts of simulated brain phantoms with known latent subtypes."""

from salcheck.cohort.cohort import (
    LABEL_NAMES,
    PRESETS,
    SUBTYPE_NAMES,
    Cohort,
    CohortSpec,
    draw_subtypes,
    largest_remainder,
    make_cohort,
    preset,
)
from salcheck.cohort.geometry import (
    atypical_box,
    brain_mask,
    check_image_size,
    region_masks,
    rest_mask,
    typical_box,
)
from salcheck.cohort.io import load, read_caps, save
from salcheck.cohort.phantoms import PARAM_NAMES, draw_params, render, render_masks

__all__ = [
    "LABEL_NAMES",
    "PARAM_NAMES",
    "PRESETS",
    "SUBTYPE_NAMES",
    "Cohort",
    "CohortSpec",
    "atypical_box",
    "brain_mask",
    "check_image_size",
    "draw_params",
    "draw_subtypes",
    "largest_remainder",
    "load",
    "make_cohort",
    "preset",
    "read_caps",
    "region_masks",
    "render",
    "render_masks",
    "rest_mask",
    "save",
    "typical_box",
]  # fmt: skip

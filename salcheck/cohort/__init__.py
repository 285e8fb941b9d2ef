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
from salcheck.cohort.phantoms3d import (
    PARAM_NAMES_3D,
    Cohort3D,
    atypical_box3d,
    brain_mask3d,
    draw_params3d,
    load3d,
    make_cohort3d,
    masks3d,
    render3d,
    save3d,
    typical_box3d,
)

#: A cohort of images or of volumes: what training and evaluation take (``cohort.dims`` says which).
AnyCohort = Cohort | Cohort3D

__all__ = [
    "LABEL_NAMES",
    "PARAM_NAMES",
    "PARAM_NAMES_3D",
    "PRESETS",
    "SUBTYPE_NAMES",
    "AnyCohort",
    "Cohort",
    "Cohort3D",
    "CohortSpec",
    "atypical_box",
    "atypical_box3d",
    "brain_mask",
    "brain_mask3d",
    "check_image_size",
    "draw_params",
    "draw_params3d",
    "draw_subtypes",
    "largest_remainder",
    "load",
    "load3d",
    "make_cohort",
    "make_cohort3d",
    "masks3d",
    "preset",
    "read_caps",
    "region_masks",
    "render",
    "render3d",
    "render_masks",
    "rest_mask",
    "save",
    "save3d",
    "typical_box",
    "typical_box3d",
]  # fmt: skip

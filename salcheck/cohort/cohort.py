"""Cohorts: controls and atrophied phantoms whose atrophied label hides latent subtypes.

A :class:`CohortSpec` says how many images of each kind to draw; :func:`make_cohort` draws
them from one seed. Subtypes: 0 = no atrophy (every control, and the atrophied label's
"errors", i.e. label noise), 1 = typical (ROI 2 atrophied), 2 = atypical (ROI 1 atrophied).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from salcheck.cohort import geometry
from salcheck.cohort.phantoms import (
    ATYPICAL_ELLIPSES,
    TYPICAL_ELLIPSES,
    draw_params,
    render,
    render_masks,
)
from salcheck.errors import InvalidArgument, check_choice
from salcheck.rng import Seed, as_generator

DrawMode = Literal["exact", "random"]
LABEL_NAMES = ("CN", "AD")  # label 0 = controls, label 1 = atrophied
SUBTYPE_NAMES = ("none", "typical", "atypical")


@dataclass(frozen=True)
class CohortSpec:
    """What to draw. Hashable and serialisable, so it can name cached results."""

    n_per_class: int  # images per label (controls and atrophied each)
    mix: tuple[float, float, float]  # atrophied shares of (errors, typical, atypical)
    image_size: int = 128  # N: a multiple of 32, >= 32
    smoothing: bool = False  # Gaussian filter, sigma = U(0, 1) N/100, per image
    draw: DrawMode = "exact"  # exact counts (largest remainder) or ClinicaDL-like random

    def __post_init__(self) -> None:
        if (
            isinstance(self.n_per_class, bool)
            or not isinstance(self.n_per_class, int)
            or (self.n_per_class < 1)
        ):
            msg = f"n_per_class must be an integer >= 1, got n_per_class={self.n_per_class!r}"
            raise InvalidArgument(msg)
        mix = tuple(float(m) for m in self.mix)
        if len(mix) != 3 or any(not math.isfinite(m) or m < 0 for m in mix) or abs(sum(mix) - 1) > 1e-6:
            msg = (
                f"mix must be three non-negative shares (errors, typical, atypical) summing to 1"
                f" within 1e-6, got mix={self.mix!r}"
            )
            raise InvalidArgument(msg)
        object.__setattr__(self, "mix", mix)
        geometry.check_image_size(self.image_size)
        check_choice("draw mode", self.draw, ("exact", "random"))

    def replace(self, **changes: object) -> CohortSpec:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


#: The reference study's datasets (poster table "Task and data"; methods.md section 1).
PRESETS: dict[str, CohortSpec] = {
    "homogeneous": CohortSpec(500, (0.05, 0.85, 0.10)),
    "heterogeneous": CohortSpec(500, (0.10, 0.65, 0.25)),
    "large": CohortSpec(10_000, (0.05, 0.85, 0.10)),
    "test": CohortSpec(1_000, (0.0, 0.5, 0.5)),
}


def preset(name: str, **overrides: object) -> CohortSpec:
    """The named preset with any field overridden, e.g. ``preset("test", image_size=64)``.

    Examples:
        >>> preset("homogeneous", image_size=64)
        CohortSpec(n_per_class=500, mix=(0.05, 0.85, 0.1), image_size=64, smoothing=False, draw='exact')
    """
    check_choice("preset", name, tuple(PRESETS))
    bad = set(overrides) - {f.name for f in dataclasses.fields(CohortSpec)}
    if bad:
        msg = f"unknown CohortSpec field(s) {sorted(bad)}; accepted: " + ", ".join(
            f.name for f in dataclasses.fields(CohortSpec)
        )
        raise InvalidArgument(msg)
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]


def largest_remainder(total: int, shares: tuple[float, ...]) -> list[int]:
    """Split ``total`` into integer counts proportional to ``shares`` (Hamilton's method).

    Each count is floor(total * share); the leftover units go to the largest remainders
    (ties to the earlier share). Counts always sum to ``total``.
    """
    quotas = [total * s for s in shares]
    counts = [math.floor(q + 1e-9) for q in quotas]
    order = sorted(range(len(shares)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def draw_subtypes(spec: CohortSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels and subtypes, controls first. ``exact``: counts by largest remainder;
    ``random``: each atrophied image's subtype drawn from ``mix`` (as ClinicaDL does)."""
    n = spec.n_per_class
    if spec.draw == "exact":
        counts = largest_remainder(n, spec.mix)
        atrophied = np.repeat(np.arange(3, dtype=np.int8), counts)
    else:
        atrophied = rng.choice(3, size=n, p=np.asarray(spec.mix) / sum(spec.mix)).astype(np.int8)
        atrophied.sort()
    labels = np.repeat(np.array([0, 1], dtype=np.int8), n)
    subtypes = np.concatenate([np.zeros(n, np.int8), atrophied])
    return labels, subtypes


@dataclass
class Cohort:
    """Images with their labels, latent subtypes and every drawn parameter.

    ``images``: float32 [n, 1, N, N] in [0, 1]; ``labels``: 0 controls, 1 atrophied;
    ``subtypes``: 0 none, 1 typical, 2 atypical; ``params``: each drawn parameter, one value
    per image (None for a cohort read from a ClinicaDL CAPS folder, which keeps none).
    """

    images: np.ndarray
    labels: np.ndarray
    subtypes: np.ndarray
    params: dict[str, np.ndarray] | None = None
    spec: CohortSpec | None = None
    seed: int | None = None
    participant_ids: list[str] = field(default_factory=list)
    _masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        n = self.images.shape[0]
        if self.images.ndim != 4 or self.images.shape[1] != 1:
            msg = f"images must be shaped [n, 1, N, N], got {self.images.shape}"
            raise InvalidArgument(msg)
        if self.labels.shape != (n,) or self.subtypes.shape != (n,):
            msg = (
                f"labels and subtypes must be shaped ({n},), got {self.labels.shape} and "
                f"{self.subtypes.shape}"
            )
            raise InvalidArgument(msg)
        if not self.participant_ids:
            self.participant_ids = participant_ids(self.labels)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    #: Images: what training, saliency and the criteria read to tell images from volumes.
    dims = 2

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    def counts(self) -> dict[tuple[int, int], int]:
        """Number of images per (label, subtype)."""
        return label_counts(self.labels, self.subtypes)

    def summary(self) -> str:
        """One line: counts per label and subtype."""
        size = f"{self.image_size}x{self.image_size}"
        return f"{len(self)} images of {size}: " + counts_text(self.counts())

    def indices(self, *, label: int | None = None, subtype: int | None = None) -> np.ndarray:
        """Indices of the images with the given label and/or subtype."""
        return select(self.labels, self.subtypes, label, subtype)

    def subset(self, idx: np.ndarray) -> Cohort:
        """The cohort restricted to ``idx`` (parameters and ids follow)."""
        idx = np.asarray(idx)
        params = None if self.params is None else {k: v[idx] for k, v in self.params.items()}
        return Cohort(
            self.images[idx],
            self.labels[idx],
            self.subtypes[idx],
            params,
            self.spec,
            self.seed,
            [self.participant_ids[i] for i in idx],
        )

    def _roi_masks(self, name: str, ellipses: tuple[int, ...]) -> np.ndarray:
        if self.params is None:
            msg = (
                "this cohort has no drawn parameters (read from a CAPS folder?), so it has no "
                "per-image masks; use region_masks(image_size) for the analytic boxes"
            )
            raise InvalidArgument(msg)
        if name not in self._masks:
            self._masks[name] = render_masks(self.params, self.image_size, ellipses)
        return self._masks[name]

    @property
    def typical_masks(self) -> np.ndarray:
        """Boolean [n, N, N]: each image's three ROI-2 ellipses as drawn (rendered on demand)."""
        return self._roi_masks("typical", TYPICAL_ELLIPSES)

    @property
    def atypical_masks(self) -> np.ndarray:
        """Boolean [n, N, N]: each image's ROI-1 ellipse as drawn (rendered on demand)."""
        return self._roi_masks("atypical", ATYPICAL_ELLIPSES)

    def region_masks(self) -> dict[str, np.ndarray]:
        """The analytic regions R_typ, R_atyp and Rest for this cohort's N."""
        return geometry.region_masks(self.image_size)


def participant_ids(labels: np.ndarray) -> list[str]:
    """ClinicaDL-style ids: ``sub-CLNC{label}{index within label:04d}``."""
    ids, seen = [], [0, 0]
    for lab in labels:
        ids.append(f"sub-CLNC{int(lab)}{seen[int(lab)]:04d}")
        seen[int(lab)] += 1
    return ids


def make_cohort(
    spec: CohortSpec, seed: Seed, *, progress: Callable[[int], None] | None = None
) -> Cohort:
    """Draw and render the cohort ``spec`` from ``seed``: same spec and seed, same bytes.

    Examples:
        >>> c = make_cohort(preset("test", image_size=32, n_per_class=4), seed=0)
        >>> c.images.shape, c.images.dtype.name
        ((8, 1, 32, 32), 'float32')
        >>> c.labels.tolist(), c.subtypes.tolist()   # controls first; 0 none, 1 typical, 2 atypical
        ([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 2, 2])
        >>> again = make_cohort(preset("test", image_size=32, n_per_class=4), seed=0)
        >>> bool((again.images == c.images).all())
        True
    """
    rng = as_generator(seed)
    labels, subtypes = draw_subtypes(spec, rng)
    params = draw_params(rng, subtypes, spec.image_size, smoothing=spec.smoothing)
    images = render(params, spec.image_size, progress=progress)
    return Cohort(images, labels, subtypes, params, spec, seed if isinstance(seed, int) else None)


def label_counts(labels: np.ndarray, subtypes: np.ndarray) -> dict[tuple[int, int], int]:
    """Number of members per (label, subtype), for images and volumes alike."""
    keys, n = np.unique(np.stack([labels, subtypes], 1), axis=0, return_counts=True)
    return {(int(k[0]), int(k[1])): int(c) for k, c in zip(keys, n, strict=True)}


def counts_text(counts: dict[tuple[int, int], int]) -> str:
    """``CN/none=6, AD/typical=3, ...``: :func:`label_counts` in label, subtype order."""
    return ", ".join(
        f"{LABEL_NAMES[lab]}/{SUBTYPE_NAMES[sub]}={counts[(lab, sub)]}" for lab, sub in sorted(counts)
    )


def select(
    labels: np.ndarray, subtypes: np.ndarray, label: int | None, subtype: int | None
) -> np.ndarray:
    """Indices of the members with the given label and/or subtype."""
    keep = np.ones(len(labels), bool)
    if label is not None:
        keep &= labels == label
    if subtype is not None:
        keep &= subtypes == subtype
    return np.flatnonzero(keep)

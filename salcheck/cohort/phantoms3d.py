"""3-D phantoms: each ellipse of the 2-D phantom becomes an ellipsoid, with voxel truth per subtype.

A volume is indexed ``[z, row, col]`` (``[D, H, W]``, as ``torch.nn.Conv3d`` reads it). Rows and
columns keep the 2-D geometry (:mod:`salcheck.cohort.phantoms`, methods.md section 1: c = (N+1)/2,
a = c - 2, b = 2c/3 - 2); z is measured from the plane z0 = N/2, which falls on slice N/2.
Ellipse e of the 2-D table (centre (r_e, c_e), semi-axes (ra_e, rb_e), rotation t_e about z)
becomes the ellipsoid

    ((dr cos t + dc sin t)/ra)^2 + ((dr sin t - dc cos t)/rb)^2 + ((k - z0)/rz)^2 < 1

with its z-centre on z0 and the third semi-axis rz_e (3-D parameters drawn after the 2-D ones):
skull b; brain b - o (o = ``brain_offset``); central b/6 s3 (``central_s3``, always "large");
ROI 1 b/4 s3 (``roi1_s3``, "small" for subtype 2); each ROI-2 ellipse b/10 s3 (``roi2_*_s3``,
"small" for subtype 1); ventricles a'/6 (a' = a ``ventricle*_scale``),
so atrophy shrinks an ROI along all three axes (s ~ U(0.8, 0.9) instead of U(1, 1.2)).
Every ellipsoid is centred on z0 and rotates only about z, so the slice k = N/2 is the 2-D
phantom of the same parameters, bit for bit (smoothing off): slice k is painted with the 2-D
kernel from the 2-D table whose semi-axes are scaled by sqrt(1 - ((k - z0)/rz)^2), which is 1
exactly at k = z0. Cohorts reuse the 2-D draws (:func:`~salcheck.cohort.cohort.draw_subtypes`,
:func:`~salcheck.cohort.phantoms.draw_params`, same presets, shares and subtype mechanics), so
``make_cohort3d(spec, seed)`` has the parameters and, on its mid-slices, the images of
``make_cohort(spec, seed)``. N must be a multiple of 32 and >= 32, as in 2-D.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

import salcheck.atomic as atomic
from salcheck.cohort import geometry
from salcheck.cohort.cohort import (
    CohortSpec,
    counts_text,
    draw_subtypes,
    label_counts,
    participant_ids,
    select,
)
from salcheck.cohort.geometry import LARGE, SMALL, Geometry
from salcheck.cohort.phantoms import (
    ATYPICAL_ELLIPSES,
    ELLIPSES,
    PARAM_NAMES,
    ROI2_ELLIPSES,
    TYPICAL_ELLIPSES,
    _paint,
    draw_params,
    ellipse_table,
)
from salcheck.errors import InvalidArgument
from salcheck.rng import Seed, as_generator

#: The 3-D parameters, drawn after the 2-D ones: one z scale factor per ROI ellipse.
PARAM_NAMES_3D_ONLY: tuple[str, ...] = tuple(f"{e}_s3" for e in ("central", "roi1", *ROI2_ELLIPSES))
#: Every parameter of a 3-D phantom: the 2-D ones (:data:`~salcheck.cohort.phantoms.PARAM_NAMES`)
#: followed by :data:`PARAM_NAMES_3D_ONLY`.
PARAM_NAMES_3D: tuple[str, ...] = (*PARAM_NAMES, *PARAM_NAMES_3D_ONLY)
#: The per-voxel footprints :func:`masks3d` renders, by index into ``ELLIPSES``.
MASK_ELLIPSES: dict[str, tuple[int, ...]] = {
    "brain": (ELLIPSES.index("brain"),),
    "central": (ELLIPSES.index("central"),),
    "atypical": ATYPICAL_ELLIPSES,  # ROI 1
    "typical": TYPICAL_ELLIPSES,  # ROI 2, the union of its three ellipsoids
}
FORMAT = "salcheck-cohort3d"
FORMAT_VERSION = 1


def check_volume_size(n: int) -> int:
    """Return ``n`` if it is a multiple of 32 and >= 32 (the 2-D phantom's sizes), else raise."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 32 or n % 32:
        msg = (
            f"n must be a multiple of 32 and >= 32 (the 2-D phantom's sizes, so that slice N/2 "
            f"is the 2-D phantom), got n={n!r}"
        )
        raise InvalidArgument(msg)
    return int(n)


def z_centre(n: int) -> float:
    """z0 = N/2: the plane every ellipsoid is centred on, slice index N/2."""
    return check_volume_size(n) / 2.0


def draw_params3d(
    rng: np.random.Generator, subtypes: np.ndarray, n: int, *, smoothing: bool = False
) -> dict[str, np.ndarray]:
    """Every random parameter of ``len(subtypes)`` 3-D phantoms, in :data:`PARAM_NAMES_3D` order.

    The 2-D parameters come first, from :func:`~salcheck.cohort.phantoms.draw_params` on the same
    stream; then each ROI ellipse's z factor s3 = low + U(0, 1) (high - low), "small" (0.8, 0.9)
    where the subtype atrophies that ROI (1: ROI 2, 2: ROI 1), else "large" (1.0, 1.2).
    """
    check_volume_size(n)
    subtypes = np.asarray(subtypes)
    if subtypes.ndim != 1 or not np.isin(subtypes, (0, 1, 2)).all():
        msg = f"subtypes must be a 1-D array of 0, 1 or 2, got {np.unique(subtypes).tolist()!r}"
        raise InvalidArgument(msg)
    p = draw_params(rng, subtypes, n, smoothing=smoothing)
    count = subtypes.shape[0]
    for roi, small in (
        ("central", np.zeros(count, bool)),
        ("roi1", subtypes == 2),
        *((r, subtypes == 1) for r in ROI2_ELLIPSES),
    ):
        lo = np.where(small, SMALL[0], LARGE[0])
        hi = np.where(small, SMALL[1], LARGE[1])
        p[f"{roi}_s3"] = lo + rng.random(count) * (hi - lo)
    return {k: p[k] for k in PARAM_NAMES_3D}


def _as_batch(params: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], bool]:
    """Parameters as 1-D float arrays of one length; True when they were one phantom's scalars."""
    missing = [k for k in PARAM_NAMES_3D if k not in params]
    if missing:
        msg = f"params lack {missing}; a 3-D phantom needs {list(PARAM_NAMES_3D)} (see draw_params3d)"
        raise InvalidArgument(msg)
    single = np.ndim(params["color"]) == 0
    batch = {k: np.atleast_1d(np.asarray(params[k], dtype=np.float64)) for k in PARAM_NAMES_3D}
    shapes = {v.shape for v in batch.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        msg = f"params must all be scalars or all 1-D of one length, got shapes {sorted(shapes)}"
        raise InvalidArgument(msg)
    return batch, single


def ellipsoid_table(params: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The [B, 9, 8] table (row, col, r_radius, c_radius, rotation, value, z, z_radius).

    Columns 0-5 are the 2-D :func:`~salcheck.cohort.phantoms.ellipse_table`; z = N/2 for every
    ellipsoid; z_radius as in this module's table.
    """
    p, _ = _as_batch(params)
    g = Geometry(check_volume_size(n))
    b = g.b
    rz = np.stack(
        [
            np.full_like(p["color"], b),
            b - p["brain_offset"],
            b / 6 * p["central_s3"],
            b / 4 * p["roi1_s3"],
            *(b / 10 * p[f"{e}_s3"] for e in ROI2_ELLIPSES),
            g.a * p["ventricle1_scale"] / 6,
            g.a * p["ventricle2_scale"] / 6,
        ],
        1,
    )
    t2d = ellipse_table(p, g.n)
    return np.concatenate([t2d, np.full_like(rz, g.n / 2.0)[..., None], rz[..., None]], axis=2)


def slice_tables(table3d: np.ndarray, n: int) -> np.ndarray:
    """The 2-D ellipse tables of every z slice, [B * N, 9, 6], slice k of image i at i * N + k.

    Slice k cuts ellipsoid e in the ellipse of the same centre and rotation with semi-axes
    scaled by sqrt(1 - ((k - z_e)/rz_e)^2) (radius 0, skipped by the kernel, where the slice
    misses it); at k = z_e the scale is exactly 1.
    """
    dz = np.arange(n, dtype=np.float64)[None, :, None] - table3d[:, None, :, 6]  # [B, N, 9]
    t2 = (dz / table3d[:, None, :, 7]) ** 2
    scale = np.sqrt(np.clip(1.0 - t2, 0.0, None))
    out = np.repeat(table3d[:, None, :, :6], n, axis=1)
    out[..., 2] *= scale
    out[..., 3] *= scale
    return out.reshape(-1, table3d.shape[1], 6)


def render3d(
    params: dict[str, np.ndarray],
    n: int,
    *,
    out: np.ndarray | None = None,
    chunk: int = 64,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Render 3-D phantoms, float32 [B, 1, N, N, N] in [0, 1]; one phantom's scalars give [N, N, N].

    Pure (same parameters, same bytes). Each z slice is painted by the 2-D numba kernel from
    :func:`slice_tables`, in the 2-D painting order; ``smoothing_sigma > 0`` then applies a 3-D
    Gaussian filter of that sigma. ``progress(k)`` is called after each chunk of k volumes.
    """
    p, single = _as_batch(params)
    n = check_volume_size(n)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        msg = f"chunk must be an integer >= 1, got chunk={chunk!r}"
        raise InvalidArgument(msg)
    table = ellipsoid_table(p, n)
    count = table.shape[0]
    if out is None:
        out = np.empty((count, 1, n, n, n), dtype=np.float32)  # the kernel clears each slice
    elif out.shape != (count, 1, n, n, n) or out.dtype != np.float32 or not out.flags.c_contiguous:
        msg = f"out must be a C-contiguous float32 array [{count}, 1, {n}, {n}, {n}], got {out.shape}"
        raise InvalidArgument(msg)
    sigmas = p["smoothing_sigma"]
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        view = out[start:stop, 0]
        _paint(slice_tables(table[start:stop], n), view.reshape(-1, n, n))
        for i in np.flatnonzero(sigmas[start:stop] > 0):
            view[i] = gaussian_filter(view[i].astype(np.float64), sigmas[start + i])
        if progress is not None:
            progress(stop - start)
    return out[0, 0] if single else out


def masks3d(params: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Per-voxel footprints, boolean [B, N, N, N] (one phantom's scalars: [N, N, N]).

    Keys of :data:`MASK_ELLIPSES`: ``brain``, ``central``, ``atypical`` (ROI 1), ``typical``
    (the three ROI-2 ellipsoids). A footprint is the ellipsoid as drawn with its own size, before
    later shapes paint over it (as 2-D :func:`~salcheck.cohort.phantoms.render_masks`).
    """
    p, single = _as_batch(params)
    n = check_volume_size(n)
    table = ellipsoid_table(p, n)
    out = {}
    for name, ellipses in MASK_ELLIPSES.items():
        sub = table[:, list(ellipses)].copy()
        sub[:, :, 5] = 1
        m = np.empty((table.shape[0], n, n, n), dtype=np.uint8)
        _paint(slice_tables(sub, n), m.reshape(-1, n, n))
        out[name] = m.view(bool)[0] if single else m.view(bool)
    return out


def reference_render3d(
    params: dict[str, np.ndarray], n: int, *, slices: list[int] | None = None
) -> np.ndarray:
    """Per-voxel pure-Python reference, float32 [B, len(slices), N, N] (default: every slice).

    Each voxel (k, i, j) tests every ellipsoid of :func:`ellipsoid_table` in painting order with
    the formula of the module docstring and keeps the last value inside. For the tests and
    ``benchmarks/bench_render3d.py``.
    """
    table = ellipsoid_table(params, n)
    ks = list(range(n)) if slices is None else [int(k) for k in slices]
    out = np.zeros((table.shape[0], len(ks), n, n), dtype=np.float32)
    for b in range(table.shape[0]):
        shapes = []
        for r, c, ra, rb, rot, v, z, rz in table[b].tolist():
            t = rot % math.pi
            shapes.append((r, c, ra, rb, math.sin(t), math.cos(t), v, z, rz))
        for kk, k in enumerate(ks):
            for i in range(n):
                for j in range(n):
                    val = 0.0
                    for r, c, ra, rb, s, co, v, z, rz in shapes:
                        dr, dc = i - r, j - c
                        q = ((dr * co + dc * s) / ra) ** 2 + ((dr * s - dc * co) / rb) ** 2
                        if q + ((k - z) / rz) ** 2 < 1.0:
                            val = v
                    out[b, kk, i, j] = val
    return out


def brain_mask3d(n: int, *, rim: bool = False) -> np.ndarray:
    """The voxels criterion c compares against, before the ROI boxes are taken out: the
    ellipse of 2-D :func:`~salcheck.cohort.geometry.brain_mask` made an ellipsoid centred on
    z0, with z semi-axis b - N/32 (``rim=False``: the smallest brain any volume can have) or b
    (``rim=True``: the skull, rim included). Slice N/2 is the 2-D mask; slice k is it with
    semi-axes scaled by sqrt(1 - ((k - z0)/rz)^2), as the renderer paints."""
    g = Geometry(check_volume_size(n))
    o = 0.0 if rim else g.max_offset
    rows, cols = np.ogrid[0 : g.n, 0 : g.n]
    rows_f, cols_f = rows.astype(float), cols.astype(float)
    out = np.zeros((g.n, g.n, g.n), dtype=bool)
    for k in range(g.n):
        reach = 1.0 - ((k - z_centre(g.n)) / (g.b - o)) ** 2
        if reach > 0:
            s = math.sqrt(reach)
            out[k] = geometry.inside_ellipse(
                rows_f, cols_f, g.c + o / 2, g.c, (g.a - o) * s, (g.b - o) * s
            )
    return out


@dataclass(frozen=True)
class Box3D:
    """An inclusive voxel box ``z[0]..z[1]`` x ``rows[0]..rows[1]`` x ``cols[0]..cols[1]``."""

    z: tuple[int, int]
    rows: tuple[int, int]
    cols: tuple[int, int]

    def mask(self, n: int) -> np.ndarray:
        """Boolean [n, n, n] mask of the box."""
        m = np.zeros((n, n, n), dtype=bool)
        m[tuple(slice(lo, hi + 1) for lo, hi in (self.z, self.rows, self.cols))] = True
        return m


def _box3d(box2d: geometry.Box, z_reach: float, n: int) -> Box3D:
    def clip(v: float) -> int:
        return int(min(max(round(v), 0), n - 1))

    return Box3D((clip(n / 2 - z_reach), clip(n / 2 + z_reach)), box2d.rows, box2d.cols)


def atypical_box3d(n: int) -> Box3D:
    """R_atyp in 3-D: the 2-D :func:`~salcheck.cohort.geometry.atypical_box` in rows and columns,
    z0 ± 1.2 b/4 in z (ROI 1 rotates only about z, so its z reach is its largest rz)."""
    g = Geometry(check_volume_size(n))
    return _box3d(geometry.atypical_box(g.n), 1.2 * g.b / 4, g.n)


def typical_box3d(n: int) -> Box3D:
    """R_typ in 3-D: the 2-D :func:`~salcheck.cohort.geometry.typical_box` in rows and columns,
    z0 ± 1.2 b/10 in z."""
    g = Geometry(check_volume_size(n))
    return _box3d(geometry.typical_box(g.n), 1.2 * g.b / 10, g.n)


@dataclass(frozen=True, eq=False)
class Cohort3D:
    """3-D phantoms with their labels, latent subtypes and every drawn parameter.

    ``volumes``: float32 [B, 1, N, N, N] in [0, 1]; ``labels``: 0 controls, 1 atrophied;
    ``subtypes``: 0 none, 1 typical (ROI 2 atrophied), 2 atypical (ROI 1 atrophied); ``params``:
    each parameter of :data:`PARAM_NAMES_3D`, one value per volume, or None for a cohort read
    from a CAPS folder (which keeps no parameters, so has no per-voxel masks). Masks are rendered
    on demand.
    """

    volumes: np.ndarray
    labels: np.ndarray
    subtypes: np.ndarray
    params: dict[str, np.ndarray] | None
    spec: CohortSpec | None = None
    seed: int | None = None
    participant_ids: list[str] = field(default_factory=list)
    _masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        v = self.volumes
        if v.ndim != 5 or v.shape[1] != 1 or not v.shape[2] == v.shape[3] == v.shape[4]:
            msg = f"volumes must be shaped [B, 1, N, N, N], got {v.shape}"
            raise InvalidArgument(msg)
        count = v.shape[0]
        if self.labels.shape != (count,) or self.subtypes.shape != (count,):
            msg = (
                f"labels and subtypes must be shaped ({count},), got {self.labels.shape} and "
                f"{self.subtypes.shape}"
            )
            raise InvalidArgument(msg)
        p = self.params
        bad = []
        if p is not None:
            bad = sorted(k for k in PARAM_NAMES_3D if k not in p or np.shape(p[k]) != (count,))
        if bad:
            msg = f"params {bad} are missing or not shaped ({count},); accepted: {list(PARAM_NAMES_3D)}"
            raise InvalidArgument(msg)
        if not self.participant_ids:
            object.__setattr__(self, "participant_ids", participant_ids(self.labels))

    def __len__(self) -> int:
        return int(self.volumes.shape[0])

    @property
    def n(self) -> int:
        """The volume size N."""
        return int(self.volumes.shape[-1])

    #: Volumes: what training, saliency and the criteria read to tell volumes from images.
    dims = 3

    @property
    def images(self) -> np.ndarray:
        """The volumes, under the name the training loop reads for any cohort."""
        return self.volumes

    @property
    def image_size(self) -> int:
        """N, under the name the training loop reads for any cohort."""
        return self.n

    def counts(self) -> dict[tuple[int, int], int]:
        """Number of volumes per (label, subtype)."""
        return label_counts(self.labels, self.subtypes)

    def summary(self) -> str:
        """One line: counts per label and subtype."""
        return f"{len(self)} volumes of {self.n}^3: " + counts_text(self.counts())

    def indices(self, *, label: int | None = None, subtype: int | None = None) -> np.ndarray:
        """Indices of the volumes with the given label and/or subtype."""
        return select(self.labels, self.subtypes, label, subtype)

    def subset(self, idx: np.ndarray) -> Cohort3D:
        """The cohort restricted to ``idx`` (parameters and ids follow)."""
        idx = np.asarray(idx)
        params = None if self.params is None else {k: v[idx] for k, v in self.params.items()}
        return Cohort3D(
            self.volumes[idx],
            self.labels[idx],
            self.subtypes[idx],
            params,
            self.spec,
            self.seed,
            [self.participant_ids[i] for i in idx],
        )

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """Boolean [B, N, N, N] footprints ``brain``, ``central``, ``atypical``, ``typical``."""
        if self.params is None:
            msg = (
                "this cohort has no drawn parameters (read from a CAPS folder?), so it has no "
                "per-voxel masks; use boxes() for the analytic boxes"
            )
            raise InvalidArgument(msg)
        if not self._masks:
            self._masks.update(masks3d(self.params, self.n))
        return self._masks

    @property
    def typical_masks(self) -> np.ndarray:
        """Boolean [B, N, N, N]: each volume's three ROI-2 ellipsoids as drawn."""
        return self.masks["typical"]

    @property
    def atypical_masks(self) -> np.ndarray:
        """Boolean [B, N, N, N]: each volume's ROI-1 ellipsoid as drawn."""
        return self.masks["atypical"]

    def boxes(self) -> dict[str, Box3D]:
        """The analytic boxes R_typ and R_atyp for this cohort's N."""
        return {"typical": typical_box3d(self.n), "atypical": atypical_box3d(self.n)}


def make_cohort3d(
    spec: CohortSpec,
    seed: Seed,
    *,
    max_gib: float = 4.0,
    progress: Callable[[int], None] | None = None,
) -> Cohort3D:
    """Draw and render the cohort ``spec`` (N = ``spec.image_size``) in 3-D from ``seed``.

    Same draws as :func:`~salcheck.cohort.cohort.make_cohort` (subtypes, then the 2-D parameters),
    then the 3-D ones. Refuses volumes over ``max_gib`` GiB (2 n_per_class N^3 float32).

    Examples:
        >>> from salcheck.cohort import preset
        >>> c = make_cohort3d(preset("test", image_size=32, n_per_class=2), seed=0)
        >>> c.volumes.shape, c.subtypes.tolist()
        ((4, 1, 32, 32, 32), [0, 0, 1, 2])
    """
    n = check_volume_size(spec.image_size)
    gib = 2 * spec.n_per_class * n**3 * 4 / 2**30
    if gib > max_gib:
        msg = (
            f"the volumes would take {gib:.1f} GiB (2 x n_per_class={spec.n_per_class} x "
            f"{n}^3 float32), over max_gib={max_gib}; lower n_per_class or image_size, or raise max_gib"
        )
        raise InvalidArgument(msg)
    rng = as_generator(seed)
    labels, subtypes = draw_subtypes(spec, rng)
    params = draw_params3d(rng, subtypes, n, smoothing=spec.smoothing)
    volumes = render3d(params, n, progress=progress)
    return Cohort3D(volumes, labels, subtypes, params, spec, seed if isinstance(seed, int) else None)


def save3d(cohort: Cohort3D, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``cohort`` to the ``.npz`` file ``path``, losslessly (parameters included), atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        msg = f"path must end in .npz, got {str(path)!r}"
        raise InvalidArgument(msg)
    if path.exists() and not overwrite:
        msg = f"{path} exists; pass overwrite=True"
        raise InvalidArgument(msg)
    spec = cohort.spec
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec": None if spec is None else {**spec.__dict__, "mix": list(spec.mix)},
        "seed": cohort.seed,
        "participant_ids": cohort.participant_ids,
    }
    arrays = {
        "volumes": cohort.volumes,
        "labels": cohort.labels,
        "subtypes": cohort.subtypes,
        "meta": np.array(json.dumps(meta)),
    }
    if cohort.params is not None:
        arrays.update({f"param_{k}": cohort.params[k] for k in PARAM_NAMES_3D})
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub: bool kwargs
    atomic.write_bytes(path, buf.getvalue())
    return path


def load3d(path: str | Path) -> Cohort3D:
    """Load a cohort written by :func:`save3d`."""
    path = Path(path)
    if not path.is_file():
        msg = f"no 3-D cohort at {path}: expected an .npz file written by save3d"
        raise InvalidArgument(msg)
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
                msg = (
                    f"{path} is {meta.get('format')!r} version {meta.get('format_version')!r}; "
                    f"this salcheck reads {FORMAT!r} version {FORMAT_VERSION}"
                )
                raise InvalidArgument(msg)
            params = {k: z[f"param_{k}"] for k in PARAM_NAMES_3D} if "param_color" in z else None
            spec = None
            if meta["spec"] is not None:
                spec = CohortSpec(**{**meta["spec"], "mix": tuple(meta["spec"]["mix"])})
            ids = meta["participant_ids"]
            return Cohort3D(z["volumes"], z["labels"], z["subtypes"], params, spec, meta["seed"], ids)
    except InvalidArgument:
        raise
    except Exception as exc:  # truncated zip, bad JSON, missing arrays
        msg = f"{path} is not a readable salcheck 3-D cohort ({type(exc).__name__}: {exc})"
        raise InvalidArgument(msg) from exc

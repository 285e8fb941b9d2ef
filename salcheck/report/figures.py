"""PNG figures for reports (matplotlib, Agg backend): phantoms with their region boxes,
typical / atypical group maps per variant on a diverging colour map centred on 0, group maps
of volumes as three orthogonal slices through each region box, the critical-difference diagram
of the method ranking, and dose-response curves of a criterion against the number of atypical
training images."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

import salcheck.atomic as atomic
from salcheck.cohort import CohortSpec, atypical_box, make_cohort, typical_box

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from salcheck.cohort.phantoms3d import Box3D
    from salcheck.science.dose_crossover import Crossover, DoseCurve


def _outline(ax: Axes, rows: tuple[int, int], cols: tuple[int, int], colour: str, label: str) -> None:
    """Outline the inclusive pixel box rows x cols on ``ax``."""
    from matplotlib.patches import Rectangle  # matplotlib: slow to import, figures only

    (r0, r1), (c0, c1) = rows, cols
    ax.add_patch(
        Rectangle(
            (c0 - 0.5, r0 - 0.5),
            c1 - c0 + 1,
            r1 - r0 + 1,
            fill=False,
            edgecolor=colour,
            linewidth=1.2,
            label=label,
        )
    )


def _pyplot() -> ModuleType:
    import matplotlib  # matplotlib: slow to import, figures only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # matplotlib: slow to import, figures only

    return plt


def _save(fig: Figure, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    atomic.write_bytes(path, buf.getvalue())


def _boxes(ax: Axes, image_size: int) -> None:

    for box, colour, label in (
        (typical_box(image_size), "tab:orange", "R_typ"),
        (atypical_box(image_size), "tab:cyan", "R_atyp"),
    ):
        _outline(ax, box.rows, box.cols, colour, label)


def phantom_figure(path: Path, image_size: int, seed: int = 0) -> None:
    """One phantom per kind (control, typical, atypical, error) with the region boxes."""
    plt = _pyplot()
    cohort = make_cohort(CohortSpec(8, (0.25, 0.5, 0.25), image_size), seed)
    kinds = [("control", 0, 0), ("typical", 1, 1), ("atypical", 1, 2), ("error", 1, 0)]
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.9))
    for ax, (title, label, subtype) in zip(axes, kinds, strict=True):
        k = cohort.indices(label=label, subtype=subtype)[0]
        ax.imshow(cohort.images[k, 0], cmap="gray", vmin=0, vmax=1)
        _boxes(ax, image_size)
        ax.set_title(f"{title} (label {label}, subtype {subtype})", fontsize=8)
        ax.axis("off")
    axes[0].legend(loc="lower left", fontsize=6)
    _save(fig, path)


def group_map_figure(
    path: Path, rows: list[tuple[str, np.ndarray, np.ndarray]], image_size: int
) -> None:
    """One row per variant: typical map M and atypical map M†, each centred on 0."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 2, figsize=(5, 2.4 * len(rows)), squeeze=False)
    for (name, typical, atypical), ax_row in zip(rows, axes, strict=True):
        panels = ((ax_row[0], typical, "M (typical)"), (ax_row[1], atypical, "M† (atypical)"))
        for ax, m, title in panels:
            lim = float(np.abs(m).max()) or 1.0
            im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
            _boxes(ax, image_size)
            ax.set_title(f"{name}: {title}", fontsize=8)
            ax.axis("off")
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
    _save(fig, path)


#: A volume's axes, indexed [z, row, col], and the plane that cuts each.
VOLUME_AXES = ("z", "row", "col")
PLANES = (("axial", 0), ("coronal", 1), ("sagittal", 2))
#: The outline colours of the boxes of a volume figure, in order (R_typ, R_atyp as in 2-D).
BOX_COLOURS = ("tab:orange", "tab:cyan", "tab:green", "tab:purple")


def box_centre(box: Box3D) -> tuple[int, int, int]:
    """The centre voxel of an inclusive box, ``(z, row, col)``, each rounded down.

    Examples:
        >>> from salcheck.cohort import typical_box3d
        >>> typical_box3d(32), box_centre(typical_box3d(32))
        (Box3D(z=(15, 17), rows=(25, 27), cols=(15, 20)), (16, 26, 17))
    """
    z, r, c = ((lo + hi) // 2 for lo, hi in (box.z, box.rows, box.cols))
    return z, r, c


def orthogonal_slices(volume: np.ndarray, box: Box3D) -> list[tuple[str, int, np.ndarray]]:
    """The axial, coronal and sagittal slices of ``volume`` [z, row, col] through ``box``'s
    centre (:func:`box_centre`), as (plane, index, slice): each slice keeps the two other axes
    in order (axial: [row, col] at z = index; coronal: [z, col] at row = index; sagittal:
    [z, row] at col = index).

    Examples:
        >>> from salcheck.cohort import typical_box3d
        >>> v = np.zeros((32, 32, 32))
        >>> [(p, i, s.shape) for p, i, s in orthogonal_slices(v, typical_box3d(32))]
        [('axial', 16, (32, 32)), ('coronal', 26, (32, 32)), ('sagittal', 17, (32, 32))]
    """
    centre = box_centre(box)
    return [(plane, centre[axis], np.take(volume, centre[axis], axis=axis)) for plane, axis in PLANES]


def _outlines(ax: Axes, axis: int, index: int, boxes: Mapping[str, Box3D]) -> None:
    """Outline every box that the plane ``axis = index`` cuts, in the slice's coordinates."""

    for (label, box), colour in zip(boxes.items(), BOX_COLOURS, strict=False):
        ranges = (box.z, box.rows, box.cols)
        if not ranges[axis][0] <= index <= ranges[axis][1]:
            continue
        rows, cols = (ranges[a] for a in range(3) if a != axis)
        _outline(ax, rows, cols, colour, label)


def volume_slices_figure(
    path: Path,
    maps: Sequence[tuple[str, np.ndarray]],
    boxes: Mapping[str, Box3D],
    *,
    title: str = "",
    undefined: str = "no volume in the group",
) -> np.ndarray:
    """Group maps of volumes [N, N, N]: for each map and each box (at most four), a row of three
    panels, the axial, coronal and sagittal slices through the box's centre
    (:func:`orthogonal_slices`), on a diverging colour map centred on 0 and shared by the map's
    panels, with every box the slice cuts outlined. A map with no finite voxel (NaN: no volume
    behind it) gets panels that say it is undefined, with ``undefined``, its reason. Returns
    the axes, [maps x boxes, 3]."""
    plt = _pyplot()
    from matplotlib.patches import Patch  # matplotlib: slow to import, figures only

    rows = [(name, m, label, box) for name, m in maps for label, box in boxes.items()]
    fig, axes = plt.subplots(
        len(rows), 3, figsize=(8.4, 2.9 * len(rows)), squeeze=False, layout="constrained"
    )
    for (name, m, label, box), ax_row in zip(rows, axes, strict=True):
        finite = np.isfinite(m)
        lim = float(np.abs(m[finite]).max()) if finite.any() else 0.0
        for ax, (plane, index, image) in zip(ax_row, orthogonal_slices(m, box), strict=True):
            axis = dict(PLANES)[plane]
            ax.set_title(f"{name}, {label}:\n{plane} {VOLUME_AXES[axis]} = {index}", fontsize=7)
            if not finite.any():
                ax.text(0.5, 0.5, f"undefined\n({undefined})", ha="center", va="center", fontsize=7)
                ax.axis("off")
                continue
            im = ax.imshow(image, cmap="RdBu_r", vmin=-(lim or 1.0), vmax=lim or 1.0)
            _outlines(ax, axis, index, boxes)
            y, x = (VOLUME_AXES[a] for a in range(3) if a != axis)
            ax.set_xlabel(x, fontsize=7)
            ax.set_ylabel(y, fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        if finite.any():
            fig.colorbar(im, ax=ax_row[-1], fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
    handles = [
        Patch(fill=False, edgecolor=colour, label=label)
        for label, colour in zip(boxes, BOX_COLOURS, strict=False)
    ]
    fig.legend(handles=handles, loc="outside upper right", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    _save(fig, path)
    return axes


def critical_difference_figure(
    path: Path,
    mean_ranks: Mapping[str, float],
    cd: float,
    *,
    cliques: Sequence[Sequence[str]] = (),
    failed: Mapping[str, Sequence[str]] | None = None,
    names: Mapping[str, str] | None = None,
    title: str = "",
) -> None:
    """Critical-difference diagram (Demšar 2006, fig. 1): each method at its mean rank on an
    axis from 1 (best, left) to k, the better half labelled on the left, the rest on the
    right; a bar of length CD above the axis; a thick bar under the axis joins each clique
    (methods whose ranks differ by less than CD). Methods in ``failed`` (method -> failed
    checks) are drawn in red with the checks named; ``names`` maps keys to the labels shown."""
    plt = _pyplot()
    order = sorted(mean_ranks, key=lambda m: mean_ranks[m])
    k, failed, shown = len(order), failed or {}, names or {}
    top = 0.25 * (len(cliques) + 1)  # the clique bars sit between the axis and the labels
    half = (k + 1) // 2
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.32 * half))
    ax.hlines(0, 1, k, color="black", linewidth=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.08, color="black", linewidth=1)
        ax.text(r, 0.14, str(r), ha="center", va="bottom", fontsize=8)
    ax.hlines(0.75, 1, 1 + cd, color="black", linewidth=1.5)
    ax.vlines([1, 1 + cd], 0.68, 0.82, color="black", linewidth=1.5)
    ax.text(1 + cd / 2, 0.86, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
    for i, clique in enumerate(cliques):
        rs = [mean_ranks[m] for m in clique]
        ax.hlines(-0.25 * (i + 1), min(rs) - 0.05, max(rs) + 0.05, color="black", linewidth=3)
    for i, m in enumerate(order):
        left = i < half
        y = -top - 0.35 * (i if left else k - 1 - i) - 0.2
        x_end = 0.6 if left else k + 0.4
        colour = "tab:red" if failed.get(m) else "black"
        ax.plot([mean_ranks[m], mean_ranks[m], x_end], [0, y, y], color=colour, linewidth=0.8)
        label = f"{shown.get(m, m)} ({mean_ranks[m]:.2f})"
        if failed.get(m):
            label += f" — fails {', '.join(failed[m])}"
        ax.text(
            x_end + (-0.05 if left else 0.05),
            y,
            label,
            color=colour,
            fontsize=8,
            ha="right" if left else "left",
            va="center",
        )
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-top - 0.35 * half - 0.1, 1.1)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    _save(fig, path)


_ROUTE_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple")


def _dose_route(ax: Axes, curve: DoseCurve, i: int, xo: Crossover | None) -> None:
    """One route: centre (geometric mean on the log scale) with the range over seeds, the level
    dashed, and the crossover with its interval (clipped to the grid when censored)."""
    n, f, colour = curve.n_atyp, curve.on_scale, _ROUTE_COLOURS[i % len(_ROUTE_COLOURS)]
    back = np.exp if curve.scale == "log" else (lambda a: a)
    ax.fill_between(n, curve.values.min(axis=0), curve.values.max(axis=0), color=colour, alpha=0.2)
    ax.plot(n, back(f(curve.values).mean(axis=0)), "o-", color=colour, label=curve.route)
    level = f"{curve.route}: {curve.level_name}"
    ax.plot(n, back(f(curve.level).mean(axis=0)), "--", color=colour, label=level)
    if xo is None:
        return
    lo, hi = np.clip([xo.low, xo.high], xo.n_min, xo.n_max)  # censored bounds: the grid's ends
    ax.axvspan(lo, hi, color=colour, alpha=0.08)
    if xo.censored is None:
        ax.axvline(xo.estimate, color=colour, linestyle=":", linewidth=1.2)
    where = xo.n_max if xo.censored == "above" else xo.n_min if xo.censored else xo.estimate
    ax.annotate(
        f"n* {xo.bound_text(xo.estimate)}",
        (where, 0.02 + 0.06 * i),
        xycoords=("data", "axes fraction"),
        color=colour,
        fontsize=7,
    )


def dose_figure(
    path: Path,
    panels: Sequence[tuple[str, Sequence[DoseCurve], Mapping[str, Crossover]]],
) -> None:
    """Dose-response panels, one per criterion: ``(title, curves, crossovers by route)``.

    Every route of a panel on one log n_atyp axis: mean over seeds (geometric on the log
    scale, then a log y axis) with the band of the range over seeds, the level it must exceed
    dashed in the route's colour, and the crossover (dotted) with its interval (shaded).
    """
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter  # matplotlib: slow to import, figures only

    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (title, curves, crossings) in zip(axes.flat, panels, strict=False):
        for i, curve in enumerate(curves):
            _dose_route(ax, curve, i, crossings.get(curve.route))
        ax.set_xscale("log")
        if curves and curves[0].scale == "log":
            ax.set_yscale("log")
            plain = FuncFormatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
        ax.set_xlabel("atypical training images n_atyp", fontsize=8)
        ax.set_title(f"{title} (band: range over seeds; shade: n* interval)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    _save(fig, path)

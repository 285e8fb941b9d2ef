"""``salcheck report`` for a tier of volumes (``tier.dims == 3``, e.g. ``ci3d``): its cells'
numbers, the verdicts its grid can decide, and its group maps as orthogonal slices.

The 2-D page (:mod:`salcheck.report.tier_page`) is built around the poster's 21 cells and 2-D
maps; a tier of volumes trains a few cells (``Tier.grid_cells``) and has no poster numbers to
stand beside. This page reads the same store through the same
:class:`salcheck.store.view.ResultsView` and reuses the 2-D page's pieces: the number
formatting (:func:`~salcheck.report.tier_sections.fmt`: never ``nan``, an undefined value is a
word with its reason), the decision rule's text and the verdict tables
(:mod:`salcheck.report.verdict_table`), the convergence table and the provenance section.
Every comparison of :data:`salcheck.science.findings.ALL` whose cells are all in the tier's
grid (:func:`salcheck.engine.plan.in_grid`) is decided on the view, beyond its null maps, as
on the 2-D page. The Markdown and its figures are written atomically; nothing is typed in by
hand.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import salcheck.atomic as atomic
from salcheck.cohort import atypical_box3d, typical_box3d
from salcheck.engine.plan import in_grid
from salcheck.provenance import git_commit
from salcheck.report import tier_sections as sections
from salcheck.report.figures import volume_slices_figure
from salcheck.report.tier_page import (
    ReportError,
    network_title,
    nothing_to_report,
    provenance_section,
)
from salcheck.report.tier_sections import ACCURACY_HEADERS, ACCURACY_KEYS, fmt, training_rule
from salcheck.report.verdict_table import bh_q, rule_text, table_text, verdict_rows
from salcheck.science.findings import (
    A_CLOSE_TO_ONE,
    A_FLOOR,
    ALL,
    CRITERIA_KEYS,
    F2_CONTROL,
    F2_STEPS,
    NAMED,
    ROUNDING_SIGNS,
    SIGNS,
    SYMBOLS,
    Comparison,
)
from salcheck.store.view import MissingResults

if TYPE_CHECKING:
    from salcheck.cohort.phantoms3d import Box3D
    from salcheck.store.view import ResultsView

__all__ = ["FAMILIES", "cell_table", "render_volume_report", "roi_boxes"]

#: What each criterion is, in the cell tables.
MEANING = {
    "a": "feature-map subtyping, chance 0",
    "b": "separability, typical map",
    "c": "specificity, typical map",
    "b_dagger": "separability, atypical map",
    "c_dagger": "specificity, atypical map",
}
#: The null maps' criteria the cell tables print beside the method's.
NULL_KEYS = ("b", "c")
#: The families of :data:`~salcheck.science.findings.ALL`, in the page's order: (title, the
#: family, whether its rows are numbered F1..F8). Each is printed with its comparisons that
#: the tier's grid can decide; the signs are one family, with Benjamini-Hochberg over them.
FAMILIES: tuple[tuple[str, dict[str, Comparison], bool], ...] = (
    ("Named findings", NAMED, True),
    (f"a close to 1 (mean a above {A_FLOOR})", A_CLOSE_TO_ONE, False),
    ("The poster's tables as signs", SIGNS, False),
    ("Signs inside the poster's printed rounding (not counted)", ROUNDING_SIGNS, False),
    ("F2: more data, or more training?", {**F2_CONTROL, **F2_STEPS}, False),
)


def roi_boxes(n: int) -> dict[str, Box3D]:
    """The analytic ROI boxes of volumes of ``n``^3, by the name the figures give them."""
    return {"R_typ": typical_box3d(n), "R_atyp": atypical_box3d(n)}


def render_volume_report(view: ResultsView, out: str | Path) -> Path:
    """Write ``<out>/<tier>.md`` and its figures under ``<out>/<tier>/`` for a tier of volumes;
    returns the path. Raises :class:`~salcheck.report.tier_page.ReportError` when no cell of
    the tier is in the store, or the tier is not of volumes."""
    if view.tier.dims != 3:
        msg = f"tier {view.tier.tag} is of images: its page is salcheck.report.render_report"
        raise ReportError(msg)
    rendered_at = git_commit()  # before the figures below change tracked files
    cells = [c for c in view.tier.cells() if view.available(*c)]
    if not cells:
        raise ReportError(nothing_to_report(view))
    out = Path(out)
    figures = _write_figures(view, cells, out / view.tier.tag)
    models = sections.models_of(view)
    lines = [
        *_header(view),
        "## Cells",
        "",
        *[line for d, v in view.tier.cells() for line in cell_table(view, d, v)],
        *_findings(view),
        "## Convergence",
        "",
        *sections.convergence(view, models),
        "",
        *_maps_section(view, figures),
        *provenance_section(view, cells, models, rendered_at),
    ]
    path = out / f"{view.tier.tag}.md"
    atomic.write_text(path, "\n".join(lines))
    return path


def _header(view: ResultsView) -> list[str]:
    """Title, what the page is, the tier (volumes of N^3, the cells it trains) and its setting."""
    tier = view.tier
    n = tier.image_size
    trains = ", ".join(
        f"{d}/{v} ({tier.spec(d, v).n_per_class} volumes per class)" for d, v in tier.cells()
    )
    boxes = "; ".join(f"{name}: {_box_text(box)}" for name, box in roi_boxes(n).items())
    return [
        f"# salcheck report: tier `{tier.name}`" + network_title(tier),
        "",
        f"Generated by `salcheck report {tier.options()}` from the result store; do not edit by "
        "hand. Each number is salcheck's mean ± sd over training seeds "
        f"{', '.join(map(str, view.seeds))}. The poster has no numbers of volumes, so none "
        "stand beside these.",
        "",
        f"This is the 3-D tier: volumes of {n}^3 voxels ({n} x {n} x {n}, indexed [z, row, col]; "
        "the phantom's ellipses as ellipsoids, `salcheck.cohort.phantoms3d`). It trains "
        f"{len(tier.cells())} cells: {trains}; network `{tier.network}` (in 3-D); test set "
        f"{tier.test_n_per_class} volumes per class; batch {tier.batch_size}; "
        f"{training_rule(tier)}, best validation epoch kept; evaluation protocol: "
        f"{view.protocol.label()}; saliency method `{view.method_name}`. Criteria: a = "
        "feature-map subtyping (chance 0), b / b† = separability, c / c† = specificity (chance "
        "1); higher is better. The analytic ROI boxes (inclusive voxel ranges, "
        f"`salcheck.criteria.regions.analytic_regions(n, dims=3)`): {boxes}.",
        "",
    ]


def _box_text(box: Box3D) -> str:
    ranges = {"z": box.z, "rows": box.rows, "cols": box.cols}
    return ", ".join(f"{axis} {lo}-{hi}" for axis, (lo, hi) in ranges.items())


def _values(view: ResultsView, dataset: str, variant: str, criterion: str) -> list[float]:
    """The criterion per seed, or none (printed *missing*) where a result is not in the store."""
    try:
        return view.values(dataset, variant, criterion)
    except MissingResults:
        return []


def _accuracy(view: ResultsView, dataset: str, variant: str) -> dict[str, list[float]]:
    """Test accuracy per key (balanced, per label and subtype), one value per seed (none where
    the cell's features are not in the store); the keys no volume of the test set has in any
    cell (label errors: none by construction) are left out, as on the 2-D page."""
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for cell in view.tier.cells():
        try:
            runs[cell] = view.accuracy(*cell)
        except MissingResults:
            runs[cell] = []
    values = {
        cell: {k: [r.get(k, math.nan) for r in rs] for k in ACCURACY_KEYS} for cell, rs in runs.items()
    }
    keep = [k for k in ACCURACY_KEYS if any(np.isfinite(v[k]).any() for v in values.values())]
    return {k: values[(dataset, variant)][k] for k in keep}


def cell_table(view: ResultsView, dataset: str, variant: str) -> list[str]:
    """One cell's table: mean ± sd over seeds of a, b, c, b†, c† for the method, its test
    accuracy per label and subtype, and b, c of each null map of the view on the same models."""
    seeds = ", ".join(map(str, view.seeds))
    lines = [
        f"### {dataset} / {variant}",
        "",
        f"| quantity | mean ± sd over seeds {seeds} |",
        "|---|---|",
    ]
    for k in CRITERIA_KEYS:
        who = "the model's features" if k == "a" else f"`{view.method_name}`"
        lines.append(
            f"| {SYMBOLS[k]} ({MEANING[k]}; {who}) | {fmt(_values(view, dataset, variant, k))} |"
        )
    headers = dict(zip(ACCURACY_KEYS, ACCURACY_HEADERS, strict=True))
    for k, values in _accuracy(view, dataset, variant).items():
        value = fmt(values, why="no such volume in the test set")
        lines.append(f"| test accuracy, {headers[k]} | {value} |")
    for null in view.nulls:
        other = view.for_method(null)
        for k in NULL_KEYS:
            value = fmt(_values(other, dataset, variant, k))
            lines.append(f"| {SYMBOLS[k]} of the null map {table_text(null.name)} | {value} |")
    if not view.nulls:
        lines.append("| null maps | none on this view (its verdicts read no null rule) |")
    return [*lines, ""]


def _findings(view: ResultsView) -> list[str]:
    """Every comparison of ``ALL`` the tier's grid can decide, by family, decided on the view
    beyond its null maps (outcome, p, and the rest of the verdict table's columns)."""
    decidable = {c.key for c in in_grid(view.tier, ALL.values())}
    cells = ", ".join(f"{d}/{v}" for d, v in view.tier.cells())
    others = (
        " The others read a cell the tier does not train (a variant, the F2 step-matched "
        "control) and cannot be decided here."
        if len(decidable) < len(ALL)
        else ""
    )
    lines = [
        "## Findings",
        "",
        f"The comparisons of the study whose every cell is in this tier's grid ({cells}): "
        f"{len(decidable)} of {len(ALL)}.{others}",
        "",
        rule_text(len(view.seeds)),
        "",
    ]
    for title, family, number in FAMILIES:
        comparisons = {k: c for k, c in family.items() if k in decidable}
        if not comparisons:
            continue
        findings = view.findings_available(comparisons)
        q = None
        if family is SIGNS:
            q = bh_q(findings)
            title += f" (one family: Benjamini-Hochberg over its {len(comparisons)} here, column BH q)"
        lines += [f"### {title}", "", *verdict_rows(findings, comparisons, number=number, q=q), ""]
    return lines


def _write_figures(view: ResultsView, cells: list[tuple[str, str]], fig_dir: Path) -> dict[str, str]:
    """Each cell's seed-averaged group maps as orthogonal slices through each ROI box; returns
    cell name -> the figure's path relative to the page."""
    boxes = roi_boxes(view.tier.image_size)
    figures = {}
    for dataset, variant in cells:
        maps = view.group_maps(dataset, variant)
        rows = [(title, _seed_mean([m[group] for m in maps])) for group, title in _GROUPS]
        name = f"maps_{dataset}_{variant}.png".replace("+", "-")
        volume_slices_figure(
            fig_dir / name,
            rows,
            boxes,
            title=f"{dataset} / {variant}: {view.method_name}, mean over seeds",
            undefined="no volume behind it on any seed",
        )
        figures[f"{dataset} / {variant}"] = f"{view.tier.tag}/{name}"
    return figures


#: The group maps a figure shows: (the key of a stored map, its title).
_GROUPS = (("typical", "M (typical)"), ("atypical", "M† (atypical)"))


def _seed_mean(maps: list[np.ndarray]) -> np.ndarray:
    """The mean over the seeds whose map is defined (a group with no volume behind it is NaN);
    NaN everywhere when no seed's is."""
    defined = [m for m in maps if np.isfinite(m).any()]
    return np.mean(defined, 0) if defined else np.full_like(maps[0], np.nan, dtype=float)


def _maps_section(view: ResultsView, figures: dict[str, str]) -> list[str]:
    seeds = ", ".join(map(str, view.seeds))
    lines = [
        "## Group maps",
        "",
        f"The group maps M (typical) and M† (atypical) of `{view.method_name}`, each the mean "
        f"over seeds {seeds} of the seeds' group maps (a seed with no volume in a group has no "
        "map there and is left out of its mean), on a colour map centred on 0. For each ROI box, "
        "three orthogonal slices through the box's centre voxel (axial: z fixed; coronal: row "
        "fixed; sagittal: column fixed), with every box the slice cuts outlined (R_typ orange, "
        "R_atyp cyan).",
        "",
    ]
    for cell, path in figures.items():
        lines += [f"![{cell}]({path})", ""]
    return lines

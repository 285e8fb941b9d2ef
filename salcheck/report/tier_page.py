"""``salcheck report``: the poster's tables and every verdict, rendered from the store.

Every number comes from stored results, read through :class:`salcheck.store.view.ResultsView`
(mean ± sd over the tier's seeds) next to the poster's value as the poster prints it; verdicts
come from the view's findings (the method's own test and the null rule), the function the
properties use. Missing cells are marked as missing. The Markdown and its figures are written
atomically; nothing in them is edited by hand.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import salcheck.atomic as atomic
from salcheck.errors import SalcheckError
from salcheck.provenance import git_commit
from salcheck.report import tier_sections as sections
from salcheck.report.figures import group_map_figure, phantom_figure
from salcheck.report.tier_sections import fmt, training_rule
from salcheck.report.verdict_table import Beside, rule_text, table_text, verdict_rows
from salcheck.science.findings import (
    A_CLOSE_TO_ONE,
    A_FLOOR,
    CRITERIA_KEYS,
    NAMED,
    POSTER_TABLES,
    POSTER_TEXT,
    SIGNS,
    SYMBOLS,
    Comparison,
    f2_comparisons,
)
from salcheck.store.files import STORE_FORMAT_VERSION

if TYPE_CHECKING:
    from salcheck.science.findings import FindingVerdict
    from salcheck.science.stats import Verdict
    from salcheck.store.records import ModelResult
    from salcheck.store.tiers import Tier
    from salcheck.store.view import ResultsView

HEADERS = tuple(SYMBOLS[k] for k in CRITERIA_KEYS)

__all__ = [
    "ReportError",
    "network_title",
    "nothing_to_report",
    "provenance_section",
    "render_report",
    "table_text",
]


class ReportError(SalcheckError):
    """Nothing to report (empty store, other format version)."""


def _table(view: ResultsView, rows: Sequence[tuple[str, str]]) -> list[str]:
    lines = [
        "| training data | variant | " + " | ".join(HEADERS) + " |",
        "|---|---|" + "---|" * len(HEADERS),
    ]
    for dataset, variant in rows:
        ok = view.available(dataset, variant)
        parts = [
            f"{fmt(view.values(dataset, variant, k) if ok else [])} ({p})"
            for k, p in zip(CRITERIA_KEYS, POSTER_TEXT[(dataset, variant)], strict=True)
        ]
        lines.append(f"| {dataset} | {variant} | " + " | ".join(parts) + " |")
    return lines


def render_report(view: ResultsView, out: str | Path, *, beside: Beside | None = None) -> Path:
    """Write ``<out>/<tier>.md`` and its figures under ``<out>/<tier>/``; returns the path.

    ``beside``: another tier's recorded verdicts (:class:`Beside`), e.g. the ci tier's printed
    beside the paper tier's. A tier of volumes has a page of its own
    (:func:`salcheck.report.volume_page.render_volume_report`)."""
    if view.tier.dims != 2:
        msg = (
            f"tier {view.tier.tag} is of volumes: its page is "
            "salcheck.report.volume_page.render_volume_report"
        )
        raise ReportError(msg)
    rendered_at = git_commit()  # before the figures below change tracked files
    cells = [c for c in view.tier.cells() if view.available(*c)]
    if not cells:
        raise ReportError(nothing_to_report(view))
    out = Path(out)
    figures = _write_figures(view, cells, out / view.tier.tag)
    models = sections.models_of(view)
    top, signs = sections.signs_section(view, beside)  # the headline and the signs' section
    lines = [
        *_header(view, top),
        *_findings(view, signs, beside),
        *_f2_section(view, models),
        "## Convergence",
        "",
        *sections.convergence(view, models),
        "",
        "## Test accuracy per label and subtype",
        "",
        *sections.accuracy(view),
        "",
        "## Group maps",
        "",
        *[f"![{d}]({view.tier.tag}/maps_{d}.png)" for d in figures],
        "",
        *provenance_section(view, cells, models, rendered_at),
    ]
    path = out / f"{view.tier.tag}.md"
    atomic.write_text(path, "\n".join(lines))
    return path


def nothing_to_report(view: ResultsView) -> str:
    """Why the store holds nothing to report on the view's tier, and the command that computes it."""
    tier = view.tier
    other = view.store.other_versions()
    why = (
        f" (it holds results of store version(s) {', '.join(other)}; this salcheck reads "
        f"v{STORE_FORMAT_VERSION})"
        if other
        else ""
    )
    return (
        f"store {view.store.root} has no evaluations of {view.method_name} for tier "
        f"{tier.tag}{why}; run `salcheck run {tier.options()} --store "
        f"{view.store.root}` or `salcheck report --run`"
    )


def _write_figures(view: ResultsView, cells: list[tuple[str, str]], fig_dir: Path) -> list[str]:
    """The phantoms and each dataset's group maps as PNGs; returns the datasets drawn."""
    phantom_figure(fig_dir / "phantoms.png", view.tier.image_size)
    figures = []
    for dataset in ("homogeneous", "heterogeneous", "large"):
        rows = [
            (
                variant,
                np.mean([m["typical"] for m in view.group_maps(d, variant)], 0),
                np.mean([m["atypical"] for m in view.group_maps(d, variant)], 0),
            )
            for d, variant in cells
            if d == dataset
        ]
        if rows:
            group_map_figure(fig_dir / f"maps_{dataset}.png", rows, view.tier.image_size)
            figures.append(dataset)
    return figures


def _header(view: ResultsView, top: list[str]) -> list[str]:
    """Title, what the page is, the tier, the headline (``top``), the magnitudes and the
    poster's tables."""
    tier = view.tier
    lines = [
        f"# salcheck report: tier `{tier.name}`" + network_title(tier),
        "",
        f"Generated by `salcheck report {tier.options()}` from the result store; do not edit "
        "by hand. Each cell is salcheck's mean ± sd over training seeds "
        f"{', '.join(map(str, view.seeds))}, with the poster's single number in parentheses, "
        "as the poster prints it.",
        "",
        f"Tier: {tier.image_size} x {tier.image_size} images; {tier.n_per_class['homogeneous']} "
        f"images per class (homogeneous, heterogeneous), {tier.n_per_class['large']} (large); "
        f"test set {tier.test_n_per_class} per class; batch {tier.batch_size}; "
        f"{training_rule(tier)}, best validation epoch kept; "
        f"evaluation protocol: {view.protocol.label()}; saliency method "
        f"`{view.method_name}`. Criteria: a = feature-map subtyping (chance 0), b / b† = "
        "separability, c / c† = specificity (chance 1); higher is better.",
        "",
        *top,
        "![phantoms](" + f"{tier.tag}/phantoms.png)",
        "",
        "## Magnitudes",
        "",
        *sections.magnitudes(view),
        "",
    ]
    for title, table_cells in POSTER_TABLES:
        lines += [f"## {title}", "", *_table(view, table_cells), ""]
    return lines


def _findings(view: ResultsView, signs_section: list[str], beside: Beside | None) -> list[str]:
    """The named findings, "a close to 1", the signs' section and the agreement with ``beside``."""
    named = view.findings_available(NAMED)
    a_rows = view.findings_available(A_CLOSE_TO_ONE)
    return [
        "## Findings",
        "",
        rule_text(len(view.seeds)),
        "",
        *verdict_rows(named, NAMED, beside=beside),
        "",
        f"### a close to 1 for every variant (mean a above {A_FLOOR})",
        "",
        f'"For every variant" holds only when each of its {len(A_CLOSE_TO_ONE)} tests replicates: '
        "an intersection-union test, each at alpha, no correction needed.",
        "",
        *verdict_rows(a_rows, A_CLOSE_TO_ONE, number=False, beside=beside),
        "",
        *signs_section,
        *_agreement(view, named, a_rows, beside),
    ]


def _f2_section(view: ResultsView, models: dict[Any, Any]) -> list[str]:
    """F2's control: more data, or more training?"""
    tier = view.tier
    f2_control, f2_steps = f2_comparisons(tier.steps_ratio())
    f2: dict[str, Comparison] = {**f2_control, **f2_steps}
    control_findings = view.findings_available(f2)
    control = {k: f.verdict if f else None for k, f in control_findings.items()}
    return [
        "## F2: more data, or more training?",
        "",
        f"An epoch of the large set ({tier.n_per_class['large']} per class) takes "
        f"{tier.steps_ratio()} times the optimiser steps of one of the homogeneous set. "
        "`homogeneous-steps` is the homogeneous set trained for "
        f"{tier.spec('homogeneous-steps').epochs} epochs without early stopping (the study's "
        "epochs times that ratio: at least the steps of a large-set model that stops within "
        f"them; {_steps_text(models)}); where large beats it, the data explain the gain; where "
        "homogeneous-steps beats homogeneous, longer "
        "training alone does. Each comparison "
        "here is tested on its own at alpha, without correction: they explain F2 and are not "
        "counted among the poster's signs. The dose-response report restates F2 as a trend over "
        "every point of the size route (Page's test on the method's values alone, without the "
        "null rule), so it can replicate where F2 here, two cells beyond every null map, does "
        "not: two questions, not a conflict.",
        "",
        *_table_cells(
            view, [("homogeneous", "default"), ("homogeneous-steps", "default"), ("large", "default")]
        ),
        "",
        *verdict_rows(control_findings, f2, number=False),
        "",
        *sections.steps_note(models, control),
    ]


def provenance_section(
    view: ResultsView, cells: list[tuple[str, str]], models: dict[Any, Any], rendered_at: str | None
) -> list[str]:
    """What computed the page: counts, compute, commits, versions, machine, rendering."""
    scores = [r for c in cells for r in view.evaluations(*c, "maps")]
    records = [r for runs in models.values() for r in runs]
    commits = sorted({str(r.provenance.get("git_commit")) for r in records})
    eval_commits = sorted({str(r.provenance.get("git_commit")) for r in scores})
    machine = records[0].provenance.get("machine", {}) if records else {}
    versions = records[0].provenance.get("versions", {}) if records else {}
    n_expected = len(view.tier.cells()) * len(view.seeds)
    return [
        "## Provenance",
        "",
        f"- evaluations: {len(scores)} of {n_expected} expected; models: {len(records)}",
        f"- training compute: {sum(r.timings.get('train_s', 0) for r in records) / 60:.1f} min "
        "(sum over models); evaluation: "
        f"{sum(r.timings.get('total_s', 0) for r in scores) / 60:.1f} min",
        f"- models trained at salcheck commit(s): {', '.join(commits)}",
        f"- evaluations computed at commit(s): {', '.join(eval_commits)}",
        f"- versions: {', '.join(f'{k} {v}' for k, v in versions.items())}",
        f"- machine: {machine.get('platform')}, {machine.get('threads')} torch thread(s) per worker",
        f"- store format v{STORE_FORMAT_VERSION}; report rendered "
        f"{time.strftime('%Y-%m-%d', time.gmtime())} at commit {rendered_at}",
        "",
    ]


def network_title(tier: Tier) -> str:
    """`` on network `NAME` `` for a network other than the study's ConvNet."""
    return "" if tier.network == "convnet" else f" on network `{tier.network}`"


def _agreement(
    view: ResultsView,
    named: dict[str, FindingVerdict | None],
    a_rows: dict[str, FindingVerdict | None],
    beside: Beside | None,
) -> list[str]:
    """The agreement of another tier's recorded verdicts with these (when given)."""
    if beside is None:
        return []

    def verdicts(found: dict[str, FindingVerdict | None]) -> dict[str, Verdict | None]:
        return {k: f.verdict if f else None for k, f in found.items()}

    families: dict[str, dict[str, Verdict | None]] = {
        "named findings": verdicts(named),
        "a close to 1": verdicts(a_rows),
        "the poster's signs": view.decide_available(SIGNS),
    }
    return ["## Agreement of the tiers", "", *sections.agreement(families, beside, len(view.seeds))]


def _steps_text(models: dict[tuple[str, str], list[ModelResult]]) -> str:
    """The optimiser steps the control and the large set actually took, from their records."""
    steps = {}
    for cell in (("homogeneous-steps", "default"), ("large", "default")):
        runs = models.get(cell, [])
        if runs:
            steps[cell[0]] = [
                len(r.history) * r.spec.train_spec().n_per_class * 2 * 0.8 / r.spec.batch_size
                for r in runs
            ]
    if len(steps) < 2:
        return "the steps actually taken are not in the store yet"
    ratio = np.median(steps["homogeneous-steps"]) / np.median(steps["large"])
    return (
        f"median steps taken: {np.median(steps['homogeneous-steps']):,.0f} (control) and "
        f"{np.median(steps['large']):,.0f} (large), a ratio of {ratio:.2f}"
    )


def _table_cells(view: ResultsView, rows: Sequence[tuple[str, str]]) -> list[str]:
    lines = ["| cell | epochs | " + " | ".join(HEADERS) + " |", "|---|---|" + "---|" * 5]
    for dataset, variant in rows:
        ok = view.available(dataset, variant)
        epochs = view.tier.spec(dataset, variant).epochs
        vals = [fmt(view.values(dataset, variant, k) if ok else []) for k in CRITERIA_KEYS]
        lines.append(f"| {dataset} | {epochs} | " + " | ".join(vals) + " |")
    return lines

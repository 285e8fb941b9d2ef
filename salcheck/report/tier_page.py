"""``salcheck report``: the poster's tables and every verdict, rendered from the store.

Every number comes from stored evaluations, read through :class:`salcheck.store.view.ResultsView`
(mean ± sd over the tier's seeds) next to the poster's value as the poster prints it; verdicts
come from :func:`salcheck.science.findings.decide`, the function the properties use. Missing cells are
marked as missing. The Markdown and its figures are written atomically; nothing in them is
edited by hand.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

import salcheck.atomic as atomic
from salcheck.errors import SalcheckError
from salcheck.provenance import git_commit
from salcheck.science.findings import (
    A_CLOSE_TO_ONE,
    A_FLOOR,
    CRITERIA_KEYS,
    F2_CONTROL,
    F2_STEPS,
    NAMED,
    POSTER_TABLES,
    POSTER_TEXT,
    SIGNS,
)
from salcheck.science.stats import Verdict, benjamini_hochberg
from salcheck.science.verdicts import GATE_ALPHA
from salcheck.store.files import STORE_FORMAT_VERSION
from salcheck.store.records import ModelResult
from salcheck.store.view import MissingResults

HEADERS = ("a", "b", "c", "b†", "c†")
ACCURACY_KEYS = (
    "balanced_accuracy",
    "accuracy_CN",
    "accuracy_AD_none",
    "accuracy_AD_typical",
    "accuracy_AD_atypical",
)
ACCURACY_HEADERS = ("balanced", "CN", "AD errors", "AD typical", "AD atypical")


class ReportError(SalcheckError):
    """Nothing to report (empty store, other format version)."""


def _fmt(values: list[float]) -> str:
    if not values:
        return "missing"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def _table(view, rows) -> list[str]:
    lines = [
        "| training data | variant | " + " | ".join(HEADERS) + " |",
        "|---|---|" + "---|" * len(HEADERS),
    ]
    for dataset, variant in rows:
        ok = view.available(dataset, variant)
        parts = [
            f"{_fmt(view.values(dataset, variant, k) if ok else [])} ({p})"
            for k, p in zip(CRITERIA_KEYS, POSTER_TEXT[(dataset, variant)], strict=True)
        ]
        lines.append(f"| {dataset} | {variant} | " + " | ".join(parts) + " |")
    return lines


def _verdict_rows(
    verdicts: dict[str, Verdict | None],
    comparisons,
    *,
    number: bool = True,
    q: dict[str, float] | None = None,
    beside: tuple[str, dict[str, str]] | None = None,
) -> list[str]:
    head = ["F"] if number else []
    cols = [
        *head,
        "claim",
        "verdict",
        "holds on seeds",
        "mean diff",
        "effect size",
        "p",
        "reverse p",
        "seeds for 80% power",
        *(["BH q"] if q else []),
        *([beside[0]] if beside else []),
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for key, v in verdicts.items():
        c = comparisons[key]
        lead = [f"F{c.number}"] if number else []
        claim = table_text(c.claim)
        other = [beside[1].get(key, "–")] if beside else []
        if v is None:
            gap = [""] * (len(cols) - len(lead) - 2 - len(other))
            lines.append("| " + " | ".join([*lead, claim, "cells missing", *gap, *other]) + " |")
            continue
        word = {
            "replicated": "replicated",
            "contradicted": "**contradicted**",
            "inconclusive": "*inconclusive*",
        }[v.outcome]
        cells = [
            *lead,
            claim,
            word,
            f"{v.k} of {v.n}",
            f"{v.mean:+.2f}",
            f"{v.effect_size:+.2f}",
            f"{v.p_forward:.3g}",
            f"{v.p_reverse:.3g}",
            str(v.seeds_for_power or "–"),
            *([f"{q[key]:.3g}"] if q else []),
            *other,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table_text(text: str) -> str:
    """``text`` safe in a Markdown table cell (``|log b|`` would split the cell)."""
    return text.replace("|", "\\|")


def _count(verdicts: dict[str, Verdict | None]) -> tuple[int, int, int, int]:
    done = [v for v in verdicts.values() if v is not None]
    n = lambda o: sum(v.outcome == o for v in done)
    return n("replicated"), len(done), n("contradicted"), n("inconclusive")


def _models(view) -> dict[tuple[str, str], list[ModelResult]]:
    out: dict[tuple[str, str], list[ModelResult]] = {}
    for dataset, variant in view.tier.cells():
        try:
            out[(dataset, variant)] = view.models(dataset, variant)
        except MissingResults:
            out[(dataset, variant)] = []
    return out


def _convergence(models) -> list[str]:
    """Best validation epoch and the validation loss's last-quarter change, per cell."""
    lines = [
        "| training data | variant | epochs | best epoch (median, range) | "
        "val loss, last quarter vs best before it |",
        "|---|---|---|---|---|",
    ]
    for (dataset, variant), runs in models.items():
        if not runs:
            continue
        best = [r.best_epoch for r in runs]
        gains = []
        for r in runs:
            losses = [h["val_loss"] for h in r.history]
            q = max(1, len(losses) // 4)
            if len(losses) > q:
                before, last = min(losses[:-q]), min(losses[-q:])
                gains.append((last - before) / before)
        change = (
            (
                f"{100 * float(np.median(gains)):+.1f}% (median; range "
                f"{100 * min(gains):+.1f}% to {100 * max(gains):+.1f}%)"
            )
            if gains
            else "–"
        )
        lines.append(
            f"| {dataset} | {variant} | {runs[0].spec.epochs} | {int(np.median(best))} "
            f"({min(best)}-{max(best)}) | {change} |"
        )
    return lines


def _steps_note(models, epochs: int) -> list[str]:
    """Says when the step-matched control kept a model from within the first ``epochs``."""
    runs = models.get(("homogeneous-steps", "default"), [])
    early = [r for r in runs if r.best_epoch <= epochs]
    if not runs:
        return []
    best = ", ".join(str(r.best_epoch) for r in runs)
    return [
        f"The step-matched models' best validation epochs are {best}: on {len(early)} of "
        f"{len(runs)} seeds it lies within the homogeneous set's {epochs} epochs, so the model "
        "kept is the homogeneous model itself (same seed, same first epochs), and the two rows "
        "agree there by construction. Longer training alone then adds nothing to the kept "
        "model; the large set's gain over it is the data's.",
        "",
    ]


def _accuracy(view) -> list[str]:
    rows = []
    for dataset, variant in view.tier.cells():
        if view.available(dataset, variant):
            runs = view.accuracy(dataset, variant)
            rows.append((dataset, variant, [[r.get(k, math.nan) for r in runs] for k in ACCURACY_KEYS]))
    # A column that is empty by construction (the test set has no label errors) is left out.
    keep = [i for i in range(len(ACCURACY_KEYS)) if any(np.isfinite(vals[i]).any() for *_, vals in rows)]
    lines = [
        "| training data | variant | " + " | ".join(ACCURACY_HEADERS[i] for i in keep) + " |",
        "|---|---|" + "---|" * len(keep),
    ]
    for dataset, variant, vals in rows:
        lines.append(f"| {dataset} | {variant} | " + " | ".join(_fmt(vals[i]) for i in keep) + " |")
    return lines


def render_report(view, out: str | Path, *, beside: tuple[str, dict[str, str]] | None = None) -> Path:
    """Write ``<out>/<tier>.md`` and its figures under ``<out>/<tier>/``; returns the path.

    ``beside``: (column title, key -> outcome), e.g. the ci tier's recorded verdicts printed
    beside the paper tier's."""
    from salcheck.report.figures import group_map_figure, phantom_figure

    rendered_at = git_commit()  # before the figures below change tracked files
    tier = view.tier
    cells = [c for c in tier.cells() if view.available(*c)]
    if not cells:
        other = view.store.other_versions()
        why = (
            (
                f" (it holds results of store version(s) {', '.join(other)}; this salcheck reads "
                f"v{STORE_FORMAT_VERSION})"
            )
            if other
            else ""
        )
        msg = (
            f"store {view.store.root} has no evaluations of {view.method_name} for tier "
            f"{tier.name}{why}; run `salcheck run --tier {tier.name} --store "
            f"{view.store.root}` or `salcheck report --run`"
        )
        raise ReportError(msg)
    out = Path(out)
    fig_dir = out / tier.name
    phantom_figure(fig_dir / "phantoms.png", tier.image_size)
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
            group_map_figure(fig_dir / f"maps_{dataset}.png", rows, tier.image_size)
            figures.append(dataset)

    named = view.decide_available(NAMED)
    a_rows = view.decide_available(A_CLOSE_TO_ONE)
    signs = view.decide_available(SIGNS)
    q_values = dict(
        zip(
            signs,
            benjamini_hochberg([v.p_forward if v else math.nan for v in signs.values()]),
            strict=True,
        )
    )
    n_rep, n_signs, n_con, n_inc = _count(signs)
    n_bh = sum(q < 0.05 for q in q_values.values() if np.isfinite(q))
    control = view.decide_available({**F2_CONTROL, **F2_STEPS})
    models = _models(view)
    scores = [r for c in cells for r in view.evaluations(*c, "maps")]
    records = [r for runs in models.values() for r in runs]
    commits = sorted({str(r.provenance.get("git_commit")) for r in records})
    eval_commits = sorted({str(r.provenance.get("git_commit")) for r in scores})
    machine = records[0].provenance["machine"] if records else {}
    versions = records[0].provenance.get("versions", {}) if records else {}
    n_expected = len(tier.cells()) * len(view.seeds)
    lines = [
        f"# salcheck report: tier `{tier.name}`",
        "",
        f"Generated by `salcheck report --tier {tier.name}` from the result store; do not edit "
        "by hand. Each cell is salcheck's mean ± sd over training seeds "
        f"{', '.join(map(str, view.seeds))}, with the poster's single number in parentheses, "
        "as the poster prints it.",
        "",
        f"Tier: {tier.image_size} x {tier.image_size} images; {tier.n_per_class['homogeneous']} "
        f"images per class (homogeneous, heterogeneous), {tier.n_per_class['large']} (large); "
        f"test set {tier.test_n_per_class} per class; {tier.epochs} epochs, batch "
        f"{tier.batch_size}, best validation epoch kept; saliency method "
        f"`{view.method_name}`. Criteria: a = feature-map subtyping (chance 0), b / b† = "
        "separability, c / c† = specificity (chance 1); higher is better.",
        "",
        f"**Signs: {n_rep} of {n_signs} of the poster's signs replicate ({n_con} contradicted, "
        f"{n_inc} inconclusive).**",
        "",
        "![phantoms](" + f"{tier.name}/phantoms.png)",
        "",
    ]
    for title, table_cells in POSTER_TABLES:
        lines += [f"## {title}", "", *_table(view, table_cells), ""]
    lines += [
        "## Findings",
        "",
        "Three-way verdicts at alpha = 0.05 (`salcheck.science.stats.paired_test`): *replicated* when "
        "the one-sided paired t-test over seeds in the poster's direction gives p < alpha, "
        "*contradicted* when the test in the opposite direction does, *inconclusive* otherwise. "
        "Differences are of logs (ratios) for b, c and of values for a and rank correlations. "
        "Effect size = mean / sd of the per-seed differences; the last column is the number of "
        "seeds that would give 80% power at the observed effect. Each named finding is tested "
        "on its own at alpha (they are the study's separate claims); the property suite's gate "
        f"overturns a recorded *replicated* only at p >= {GATE_ALPHA:g}.",
        "",
        *_verdict_rows(named, NAMED, beside=beside),
        "",
        f"### a close to 1 for every variant (mean a above {A_FLOOR})",
        "",
        *_verdict_rows(a_rows, A_CLOSE_TO_ONE, number=False, beside=beside),
        "",
        "## The poster's tables as signs",
        "",
        f"Every variant against its dataset's default on each criterion, large against "
        f"homogeneous, and Noise + L1 against each of its parts, on both datasets, in the "
        f"poster's direction (ties in the poster have no sign): {n_signs} signs. Uncorrected "
        f"counts at alpha = 0.05 are in the line at the top; over this family of {n_signs} "
        f"tests, {n_bh} signs survive Benjamini-Hochberg at q < 0.05 (column BH q).",
        "",
        *_verdict_rows(signs, SIGNS, number=False, q=q_values, beside=beside),
        "",
        "## F2: more data, or more training?",
        "",
        f"The large set ({tier.n_per_class['large']} per class) is trained for "
        f"{tier.n_per_class['large'] // tier.n_per_class['homogeneous']} times the optimiser "
        "steps of the homogeneous set. `homogeneous-steps` is the homogeneous set trained for "
        "as many steps (same epochs x size); where large beats it, the data explain the gain; "
        "where homogeneous-steps beats homogeneous, longer training alone does.",
        "",
        *_table_cells(
            view, [("homogeneous", "default"), ("homogeneous-steps", "default"), ("large", "default")]
        ),
        "",
        *_verdict_rows(control, {**F2_CONTROL, **F2_STEPS}, number=False),
        "",
        *_steps_note(models, tier.epochs),
        "## Convergence",
        "",
        "Best validation epoch per cell, and how much the validation loss still fell in the "
        "last quarter of the epochs against the best before it (negative: still improving).",
        "",
        *_convergence(models),
        "",
        "## Test accuracy per label and subtype",
        "",
        *_accuracy(view),
        "",
        "## Group maps",
        "",
        *[f"![{d}]({tier.name}/maps_{d}.png)" for d in figures],
        "",
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
    path = out / f"{tier.name}.md"
    atomic.write_text(path, "\n".join(lines))
    return path


def _table_cells(view, rows) -> list[str]:
    lines = ["| cell | epochs | " + " | ".join(HEADERS) + " |", "|---|---|" + "---|" * 5]
    for dataset, variant in rows:
        ok = view.available(dataset, variant)
        epochs = view.tier.spec(dataset, variant).epochs
        vals = [_fmt(view.values(dataset, variant, k) if ok else []) for k in CRITERIA_KEYS]
        lines.append(f"| {dataset} | {epochs} | " + " | ".join(vals) + " |")
    return lines

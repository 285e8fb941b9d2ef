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
    NAMED,
    POSTER_TABLES,
    POSTER_TEXT,
    ROUNDING_SIGNS,
    SIGNS,
    SYMBOLS,
    Comparison,
    f2_comparisons,
)
from salcheck.science.stats import ALPHA, Verdict, benjamini_hochberg, effect_text, least_p, p_text
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


WORDS = {
    "replicated": "replicated",
    "contradicted": "**contradicted**",
    "inconclusive": "*inconclusive*",
    "undecidable": "undecidable",
}


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
        "p (exact)",
        "reverse p",
        "t-test p",
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
        if v is None or v.outcome == "undecidable":
            word = "cells missing" if v is None else f"undecidable: {table_text(v.reason)}"
            gap = [""] * (len(cols) - len(lead) - 2 - len(other))
            lines.append("| " + " | ".join([*lead, claim, word, *gap, *other]) + " |")
            continue
        cells = [
            *lead,
            claim,
            WORDS[v.outcome],
            f"{v.k} of {v.n}",
            "–" if v.mean is None else f"{v.mean:+.2f}",
            "– (sd 0)" if v.effect_size is None else effect_text(v.effect_size),
            p_text(v.p_forward, v.n),
            p_text(v.p_reverse, v.n),
            "– (sd 0)" if v.t_p_forward is None else f"{v.t_p_forward:.3g}",
            "– (sd 0)" if v.effect_size is None else table_text(v.power.text),
            *([f"{q[key]:.3g}" if math.isfinite(q[key]) else "–"] if q else []),
            *other,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table_text(text: str) -> str:
    """``text`` safe in a Markdown table cell (``|log b|`` would split the cell)."""
    return text.replace("|", "\\|")


def _count(verdicts: dict[str, Verdict | None]) -> dict[str, int]:
    """Verdicts per outcome, and ``"decided"``: those whose cells are all present."""
    done = [v for v in verdicts.values() if v is not None]
    return {"decided": len(done), **{o: sum(v.outcome == o for v in done) for o in WORDS}}


def _rule_text(n_seeds: int) -> str:
    """The decision rule and each family's multiplicity, for ``n_seeds`` seeds."""
    floor = least_p(n_seeds)
    reach = f"with {n_seeds} seeds the least attainable p is 1/{2**n_seeds} = {floor:.3g}"
    if floor >= ALPHA:
        reach += " >= alpha: no comparison can replicate or be contradicted"
    elif 2 * floor >= ALPHA:
        reach += ", so a finding replicates only when every seed agrees"
    return (
        f"Verdicts at alpha = {ALPHA:g} (`salcheck.science.stats.paired_test`) by the exact paired "
        "sign-flip test on the mean per-seed difference (all sign patterns): *replicated* when its "
        "p in the poster's direction is below alpha, *contradicted* when the p in the opposite "
        "direction is, *inconclusive* otherwise; *undecidable* (with its reason) when the numbers "
        f"cannot decide. The test is exact at any number of seeds; {reach}. The one-sided paired "
        "t-test's p is printed beside it as information. Differences are of logs (ratios) for "
        "b, c and of values for a and rank correlations. Effect size = mean / sd of the per-seed "
        "differences (undefined when sd = 0); seeds for 80% power: one-sided t-test model at the "
        "observed effect, never below the exact test's least number of seeds. Each named finding "
        "is tested on its own at alpha, without correction: they are the study's separate claims. "
        f"The property suite's gate overturns a recorded *replicated* only at p >= {GATE_ALPHA:g}."
    )


def _headline(signs: dict[str, Verdict | None], q_values: dict[str, float]) -> str:
    """``Signs: K of M replicate at alpha (K' after Benjamini-Hochberg; R contradicted, ...)``."""
    n = _count(signs)
    n_bh = sum(q < ALPHA for q in q_values.values() if math.isfinite(q))
    return (
        f"**Signs: {n['replicated']} of {n['decided']} replicate at alpha {ALPHA:g} ({n_bh} after "
        f"Benjamini-Hochberg; {n['contradicted']} contradicted, {n['inconclusive']} inconclusive, "
        f"{n['undecidable']} undecidable).**"
    )


def _rounding_line(rounding: dict[str, Verdict | None]) -> str:
    """The signs inside the poster's printed rounding, named with their numbers."""
    items = []
    for key, c in ROUNDING_SIGNS.items():
        i = CRITERIA_KEYS.index(c.x[2])  # type: ignore[index]
        px, py = POSTER_TEXT[c.x[:2]][i], POSTER_TEXT[c.y[:2]][i]  # type: ignore[index]
        v = rounding.get(key)
        items.append(f"{c.claim} ({px} vs {py}; {v.outcome if v else 'cells missing'})")
    return (
        f"Not counted: {len(items)} signs lie inside the poster's own printed rounding (the "
        "intervals of half a unit of the last printed digit around the two numbers overlap), so "
        "they are no claims of the poster: " + "; ".join(items) + "."
    )


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


def _steps_note(models, epochs: int, control: dict[str, Verdict | None]) -> list[str]:
    """What the step-matched control shows, from its best epochs and the F2 verdicts."""
    runs = models.get(("homogeneous-steps", "default"), [])
    lines = []
    if runs:
        early = [r for r in runs if r.best_epoch <= epochs]
        best = ", ".join(str(r.best_epoch) for r in runs)
        lines.append(
            f"The step-matched models' best validation epochs are {best}: on {len(early)} of "
            f"{len(runs)} seeds it lies within the homogeneous set's {epochs} epochs, where the "
            "model kept is the homogeneous model itself (same seed, same first epochs) and the "
            "two rows agree by construction."
        )
    by = lambda family, outcome: [
        SYMBOLS[k.rsplit("-", 1)[1]]
        for k, v in control.items()
        if k.startswith(f"F2-{family}-") and v is not None and v.outcome == outcome
    ]
    data, steps = by("control", "replicated"), by("steps", "replicated")
    if data:
        lines.append(
            f"The large set beats the step-matched control on {', '.join(data)} (replicated): "
            "there the gain is the data's, not the optimiser steps'."
        )
    if steps:
        lines.append(f"Longer training alone raises {', '.join(steps)} (replicated).")
    if not data and not steps:
        lines.append(
            "No comparison of this section replicates: these numbers do not separate the data's "
            "share of F2 from the training length's."
        )
    return [" ".join(lines), ""]


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


def _signs_section(view, beside) -> tuple[list[str], list[str]]:
    """(the headline and the rounding line, the signs' section): one family, with BH."""
    signs = view.decide_available(SIGNS)
    rounding = view.decide_available(ROUNDING_SIGNS)
    p = [v.p_forward if v and v.p_forward is not None else math.nan for v in signs.values()]
    q_values = dict(zip(signs, benjamini_hochberg(p), strict=True))
    n_signs = _count(signs)["decided"]
    n_tested = sum(math.isfinite(q) for q in q_values.values())
    n_bh = sum(q < ALPHA for q in q_values.values() if math.isfinite(q))
    top = [_headline(signs, q_values), "", _rounding_line(rounding), ""]
    return top, [
        "## The poster's tables as signs",
        "",
        f"Every variant against its dataset's default on each criterion, large against "
        f"homogeneous, and Noise + L1 against each of its parts, on both datasets, in the "
        f"poster's direction (ties in the poster have no sign, and the {len(ROUNDING_SIGNS)} signs "
        f"inside the poster's printed rounding are listed apart): {n_signs} signs. They are one "
        "family: the line at the top counts them at alpha uncorrected and after "
        f"Benjamini-Hochberg (false discovery rate {ALPHA:g}, over the {n_tested} decided signs; "
        f"column BH q): {n_bh} survive.",
        "",
        *_verdict_rows(signs, SIGNS, number=False, q=q_values, beside=beside),
        "",
        "### Inside the poster's printed rounding (not counted, no correction)",
        "",
        *_verdict_rows(rounding, ROUNDING_SIGNS, number=False, beside=beside),
        "",
    ]


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
    top, signs_section = _signs_section(view, beside)
    f2_control, f2_steps = f2_comparisons(tier.steps_ratio())
    f2: dict[str, Comparison] = {**f2_control, **f2_steps}
    control = view.decide_available(f2)
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
        *top,
        "![phantoms](" + f"{tier.name}/phantoms.png)",
        "",
    ]
    for title, table_cells in POSTER_TABLES:
        lines += [f"## {title}", "", *_table(view, table_cells), ""]
    lines += [
        "## Findings",
        "",
        _rule_text(len(view.seeds)),
        "",
        *_verdict_rows(named, NAMED, beside=beside),
        "",
        f"### a close to 1 for every variant (mean a above {A_FLOOR})",
        "",
        f'"For every variant" holds only when each of its {len(A_CLOSE_TO_ONE)} tests replicates: '
        "an intersection-union test, each at alpha, no correction needed.",
        "",
        *_verdict_rows(a_rows, A_CLOSE_TO_ONE, number=False, beside=beside),
        "",
        *signs_section,
        "## F2: more data, or more training?",
        "",
        f"The large set ({tier.n_per_class['large']} per class) is trained for "
        f"{tier.n_per_class['large'] // tier.n_per_class['homogeneous']} times the optimiser "
        "steps of the homogeneous set. `homogeneous-steps` is the homogeneous set trained for "
        "as many steps (same epochs x size); where large beats it, the data explain the gain; "
        "where homogeneous-steps beats homogeneous, longer training alone does. Each comparison "
        "here is tested on its own at alpha, without correction: they explain F2 and are not "
        "counted among the poster's signs.",
        "",
        *_table_cells(
            view, [("homogeneous", "default"), ("homogeneous-steps", "default"), ("large", "default")]
        ),
        "",
        *_verdict_rows(control, f2, number=False),
        "",
        *_steps_note(models, tier.epochs, control),
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

"""``salcheck dose``: the dose-response study rendered as ``<out>/<tier>-dose.md``.

Every number is read from the store through :func:`salcheck.studies.dose.collect`; the verdicts
come from :func:`salcheck.studies.dose.decide`. One figure per criterion (both routes) is written
beside the page, in ``<out>/<tier>-dose/``. A method other than the study's vanilla gradient
gets its own page, ``<tier>-dose-<method>.md``, so methods are compared by their crossovers.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import salcheck.atomic as atomic
from salcheck.provenance import git_commit
from salcheck.report.figures import dose_figure
from salcheck.report.methods_page import slug
from salcheck.report.tier_sections import fmt, training_rule
from salcheck.report.verdict_table import table_text
from salcheck.science.dose import COLLAPSE_MARGIN
from salcheck.science.dose_crossover import Crossover
from salcheck.studies.dose import (
    ACCURACY,
    ACCURACY_LEVEL,
    CRITERIA,
    HEADLINE,
    MAP_KEYS,
    SYMBOLS,
    DoseData,
    DoseVerdicts,
    measured_seconds,
)
from salcheck.studies.dose_grid import EXTENDED_SIZES, TYPICAL_EPOCHS, DoseGrid, estimate_cost

READING = (
    "x: n_atyp, the atypical images of the training cohort as drawn (before the 20 % validation "
    "split; the weights are fit on the column *fit*), on a log axis. Each route is a colour: "
    "*size* adds images at the homogeneous mix (10 % atypical), *share* makes more of 500 per "
    "class atypical. The line is the mean over seeds (geometric for the ratios b, c, b†, c†), "
    "the band the range over seeds; the dashed line is the level the criterion must exceed: "
    "for b, c, b†, c† the best null map on the same models at that point (the null with the "
    "highest mean there: random, Sobel edges, constant, an untrained network's gradient; maps "
    "that know nothing of the subtypes), for a its chance (ARI 0), for the atypical test "
    f"accuracy the stated level {ACCURACY_LEVEL:g}. The crossover n* (dotted) is where a "
    "monotone (isotonic) fit of the mean exceedance over the level first turns positive, "
    "interpolated in log n_atyp; the shade is its 95 % bootstrap interval over seeds. '> max' "
    "means the criterion never exceeds its level within the grid, '< min' that it already does "
    "at the smallest point: censored bounds, not numbers. A trend *replicated* means the "
    "criterion rises with n_atyp seed by seed (Page's L test, a rank test over all points, not "
    "a difference of two); *inconclusive* means the seeds do not decide, not that it is flat. "
    "The routes differ in one more way: along *size* the optimiser steps grow with the set "
    "(the same epochs on more images), along *share* they stay fixed; if the routes collapse "
    "onto one curve, the count of atypical examples decides the maps, not their share or the "
    "amount of data. To compare methods, compare their b† crossovers (a smaller n* shows the "
    "atypical subtype from fewer examples); the accuracy crossover is the model's, the same for "
    "every method: where b†'s n* lies far above it, the network classifies the subtype before "
    "its saliency maps show it."
)


def page_stem(tier: str, method: str) -> str:
    """``ci-dose`` for the study's vanilla gradient, ``ci-dose-<method>`` for any other."""
    return f"{tier}-dose" if method == "Vanilla gradient" else f"{tier}-dose-{slug(method)}"


def _centre(values: np.ndarray) -> str:
    """mean ± sd over seeds of a column."""
    return fmt([float(v) for v in values])


def points_table(data: DoseData) -> list[str]:
    """One row per point: its training set, n_atyp, the models that learned, every criterion."""
    head = " | ".join(SYMBOLS[k] for k in CRITERIA)
    lines = [
        f"| route | per class | atyp. share | n_atyp | fit | cell | learned | {head} |",
        "|---|---|---|---|---|---|---|" + "---|" * len(CRITERIA),
    ]
    for route, points in data.points.items():
        for j, p in enumerate(points):
            models = data.models[route][j]
            learned = f"{sum(r.learned for r in models)}/{len(models)}"
            cells = " | ".join(_centre(data.curves[k][route].values[:, j]) for k in CRITERIA)
            lines.append(
                f"| {route} | {p.n_per_class} | {p.share:g} | {p.n_atyp} | {p.n_fit} | "
                f"{p.cell or '–'} | {learned} | {cells} |"
            )
    return lines


def nulls_table(data: DoseData) -> list[str]:
    """Per point, the best null map of each map criterion and its mean over seeds."""
    lines = [
        "| route | n_atyp | " + " | ".join(SYMBOLS[k] for k in MAP_KEYS) + " |",
        "|---|---|" + "---|" * len(MAP_KEYS),
    ]
    for route, points in data.points.items():
        for j, p in enumerate(points):
            cells = [
                f"{table_text(data.best_null[k][route][j])} "
                f"{data.curves[k][route].level[:, j].mean():.2f}"
                for k in MAP_KEYS
            ]
            lines.append(f"| {route} | {p.n_atyp} | " + " | ".join(cells) + " |")
    return lines


def _interval(x: Crossover) -> str:
    return f"{x.bound_text(x.low)} to {x.bound_text(x.high)}"


def crossovers_table(data: DoseData, verdicts: DoseVerdicts) -> list[str]:
    """Every criterion's crossover over its level, per route, with its interval."""
    lines = [
        "| criterion | route | level | n* | 95 % interval | draws never crossing | draws already "
        "above |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in CRITERIA:
        for route in data.routes:
            x = verdicts.crossovers[(k, route)]
            bold = "**" if k in (HEADLINE, ACCURACY) else ""
            lines.append(
                f"| {bold}{SYMBOLS[k]}{bold} | {route} | {x.level_name} | {bold}"
                f"{x.bound_text(x.estimate)}{bold} | {_interval(x)} | {x.share_never:.0%} | "
                f"{x.share_already:.0%} |"
            )
    return lines


def trends_table(data: DoseData, verdicts: DoseVerdicts) -> list[str]:
    lines = [
        "| criterion | route | outcome | Page's L | p (rises) | p (falls) | seeds x points |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in CRITERIA:
        for route in data.routes:
            t = verdicts.trends[(k, route)]
            lines.append(
                f"| {SYMBOLS[k]} | {route} | {t.outcome} | {t.statistic:g} | {t.p_increasing:.3g} | "
                f"{t.p_decreasing:.3g} | {t.n_seeds} x {t.n_points} |"
            )
    return lines


def headline(data: DoseData, verdicts: DoseVerdicts) -> list[str]:
    """The crossovers the study asks for, and the collapse verdict."""
    lines = []
    for k in (HEADLINE, ACCURACY):
        for route in data.routes:
            lines.append(f"- {verdicts.crossovers[(k, route)].message()}")
    if verdicts.collapse is not None:
        lines.append(f"- {verdicts.collapse.message()}")
    return lines


def collapse_section(verdicts: DoseVerdicts) -> list[str]:
    margin = COLLAPSE_MARGIN["log"]
    lines = [
        "Do the two routes fall on one curve in n_atyp, i.e. does the count of atypical examples "
        "decide b†, rather than their share or the size of the set? At each n_atyp in the "
        "overlap of the routes' ranges (each route's seed curve interpolated linearly in "
        "log n_atyp), d = log b†(size) - log b†(share); per seed D = the mean of d over those "
        f"points. *Replicated* (one curve): two one-sided tests put the 90 % interval of mean D "
        f"inside ±log {margin:g} (the routes agree within a factor {margin:g}, less than one "
        "doubling of n_atyp at the poster's slope) and no single point is beyond it; "
        "*contradicted*: mean D, or some point's difference (Bonferroni), lies beyond the margin "
        "at alpha; *inconclusive*: neither (too few seeds or too noisy to tell). A failure to "
        "find a difference is not taken as a collapse: the burden of proof is on the collapse.",
        "",
    ]
    if verdicts.collapse is None:
        return [*lines, "Not decided: the study was run on one route only."]
    return [*lines, f"**{verdicts.collapse.outcome}**: {verdicts.collapse.message()}"]


def cost_section(data: DoseData) -> list[str]:
    """The estimated cost of the run (and of the extended grid), and what the store measured."""
    tier, seeds = data.tier, data.seeds
    cost = estimate_cost(tier, data.routes, data.grid, seeds)
    train, evaluation = measured_seconds(data)
    epochs = (
        f"about {TYPICAL_EPOCHS} epochs (early stopping)" if tier.patience else f"{tier.epochs} epochs"
    )
    lines = [
        f"- estimate (one thread at {tier.image_size} x {tier.image_size}: 1.4 s per epoch per "
        f"1,000 training images x {epochs}; 20 s per model for its features and five "
        f"maps): {cost.new_models} new models and {cost.reused_models} the tier's cells already "
        f"train, {cost.train_s / 60:.0f} min training + {cost.eval_s / 60:.0f} min evaluation, "
        f"about {cost.hours(2):.1f} h on two workers",
    ]
    if data.grid == DoseGrid():
        more = estimate_cost(tier, data.routes, DoseGrid.extended(), seeds)
        extra = ", ".join(f"{n:,}" for n in EXTENDED_SIZES)
        lines.append(
            f"- left for a larger machine: {extra} per class on the size route (`salcheck dose "
            f"--extended`), which brings the estimate to {more.hours(2):.1f} h on two workers"
        )
    return [
        *lines,
        f"- measured (sum over the records read): {train / 60:.1f} min training, "
        f"{evaluation / 60:.1f} min evaluating the method's maps",
    ]


def provenance_section(data: DoseData, rendered_at: str | None) -> list[str]:
    records = [r for pts in data.models.values() for rs in pts for r in rs]
    commits = sorted({str(r.provenance.get("git_commit")) for r in records})
    eval_commits = sorted({str(e.provenance.get("git_commit")) for e in data.maps})
    return [
        f"- models trained at salcheck commit(s): {', '.join(commits)}",
        f"- evaluations computed at commit(s): {', '.join(eval_commits)}",
        f"- rendered {time.strftime('%Y-%m-%d', time.gmtime())} at commit {rendered_at}",
    ]


def _figures(data: DoseData, verdicts: DoseVerdicts, folder: Path) -> list[str]:
    """One PNG per criterion (both routes); returns the Markdown lines that show them."""
    lines = []
    for k in CRITERIA:
        curves = [data.curves[k][r] for r in data.routes]
        crossings = {r: verdicts.crossovers[(k, r)] for r in data.routes}
        dose_figure(folder / f"{k}.png", [(SYMBOLS[k], curves, crossings)])
        lines.append(f"![{SYMBOLS[k]}]({folder.name}/{k}.png)")
    return lines


def render_dose(data: DoseData, verdicts: DoseVerdicts, out: str | Path) -> Path:
    """Write ``<out>/<tier>-dose.md`` (or ``-dose-<method>.md``) and its figures; returns its path."""
    rendered_at = git_commit()  # before the figures change tracked files
    tier = data.tier
    stem = page_stem(tier.name, data.method)
    out = Path(out)
    routes = " and ".join(f"`{r}`" for r in data.routes)
    lines = [
        f"# salcheck dose-response study: tier `{tier.name}`, {data.method}",
        "",
        f"Generated by `salcheck dose --tier {tier.name}` from the result store; do not edit by "
        "hand. How many atypical training images does the atypical subtype need before the "
        f"saliency maps show it? Routes {routes}: each point is a grid cell like any other "
        f"({tier.image_size} x {tier.image_size}, default training, {training_rule(tier)}, "
        f"seeds {', '.join(map(str, data.seeds))}, test set {tier.test_n_per_class} per class); "
        "a point that is a cell of the tier (*cell*) is that cell's model. Cells are mean ± sd "
        f"over seeds; every verdict is three-way at alpha {verdicts.alpha:g}.",
        "",
        "## Crossovers and collapse",
        "",
        *headline(data, verdicts),
        "",
        "## How to read the curves",
        "",
        READING,
        "",
        *_figures(data, verdicts, out / stem),
        "",
        "## Points",
        "",
        *points_table(data),
        "",
        "### Best null map per point",
        "",
        *nulls_table(data),
        "",
        "## Crossovers",
        "",
        *crossovers_table(data, verdicts),
        "",
        "## Trends",
        "",
        "Does each criterion rise with n_atyp? Page's L test, seeds as blocks, the points in "
        "order of n_atyp; the reverse order gives the p of a fall. F2 (more data, better maps) "
        "restated on the curve is b, b†, c, c† replicated along the size route. The tier "
        "report's F2 is a narrower test (the large cell against the homogeneous cell, seed by "
        "seed, and beyond every null map), so it can be inconclusive where this trend over "
        "every point of the route, on the method's values alone, replicates: two questions, "
        "not a conflict.",
        "",
        *trends_table(data, verdicts),
        "",
        "## Do the routes collapse onto one curve?",
        "",
        *collapse_section(verdicts),
        "",
        "## Cost and provenance",
        "",
        *cost_section(data),
        *provenance_section(data, rendered_at),
        "",
    ]
    path = out / f"{stem}.md"
    atomic.write_text(path, "\n".join(lines))
    return path

"""``salcheck benchmark``: the method benchmark as Markdown, with one saliency card per method.

Writes ``<out>/<tier>-methods.md`` and, under ``<out>/<tier>-methods/``, a card
``<method>.md`` and a group-map figure ``<method>.png`` per method. Every number comes from
stored evaluations through :func:`salcheck.studies.method_benchmark.collect`; nothing is
typed in by hand.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import salcheck.atomic as atomic
from salcheck.criteria import CRITERIA
from salcheck.engine.checks import CHECKS, CheckResult
from salcheck.provenance import git_commit
from salcheck.report.figures import critical_difference_figure, group_map_figure
from salcheck.report.ranking_section import (
    UNDEFINED_RANK,
    UNDEFINED_SCORE,
    check_label,
    ranking_section,
    row_label,
)
from salcheck.report.tier_sections import fmt, number, training_rule
from salcheck.saliency.monai_adapter import NAME_RULE_NOTE, is_name_rule
from salcheck.science.findings import SYMBOLS
from salcheck.science.ranking import Ranking, Row
from salcheck.science.stats import Verdict
from salcheck.studies.method_benchmark import (
    DATASETS,
    DEFAULT_ONLY,
    EQUIVALENCE_TOLERANCE,
    SCORES,
    WITH_CHANCE,
    Benchmark,
    Entry,
    null_outranks,
)

HEADERS = {k: SYMBOLS[k] for k in SCORES}
MARK = {"replicated": "✓", "contradicted": "✗", "inconclusive": "?", "undecidable": "u"}
_RATIO = "0/0: a map 0 on both regions, or no {} image in the group"
_LOCALISATION = "an all-zero map or no typical image in the group"
#: Why each score of the tables can be undefined (NaN) on a model: printed beside *undefined*.
UNDEFINED = {
    "a": "no clustering of the model's features",
    "b": _RATIO.format("typical"),
    "c": _RATIO.format("typical"),
    "b_dagger": _RATIO.format("atypical"),  # images=correct: none classified correctly
    "c_dagger": _RATIO.format("atypical"),
    "rma_typical": _LOCALISATION,
    "rra_typical": _LOCALISATION,
    "auc_typical": _LOCALISATION,
    "pointing_typical": _LOCALISATION,
    "spearman_randomised": "a constant map has no ranks to correlate",
    "s_per_1000_maps": "not timed",
}


def provenance_lines(provenance: dict[str, Any], rendered_at: str | None) -> list[str]:
    """The versions and machine of the process that computed a benchmark, and the commit that
    rendered its page (the benchmark pages' last lines)."""
    versions = ", ".join(f"{k} {v}" for k, v in provenance.get("versions", {}).items())
    return [
        f"- versions: {versions}",
        f"- machine: {provenance.get('machine', {}).get('platform')}",
        f"- rendered {time.strftime('%Y-%m-%d', time.gmtime())} at commit {rendered_at}",
    ]


def slug(name: str) -> str:
    """A file name for a method name: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _cell(entry: Entry, dataset: str, score: str, chance: float) -> str:
    """mean ± sd over seeds, ° when not above the best null (never ``nan``: :func:`fmt`)."""
    v = entry.values(dataset, score)
    text = fmt(v, UNDEFINED.get(score, "undefined on a model"))
    mean = float(np.mean(v)) if v else math.nan
    comparable = math.isfinite(mean) and math.isfinite(chance)
    if score in WITH_CHANCE and not entry.null and comparable and not mean > chance:
        text += " °"
    return text


def _cost(entry: Entry, datasets: Sequence[str]) -> str:
    """Seconds per 1,000 maps, the mean over ``datasets`` and seeds (never ``nan``)."""
    values = [v for d in datasets for v in entry.values(d, "s_per_1000_maps")]
    return number(float(np.mean(values)) if values else math.nan, ".1f", UNDEFINED["s_per_1000_maps"])


def _scores_table(bench: Benchmark, dataset: str, entries: list[Entry]) -> list[str]:
    cols = [HEADERS[k] for k in SCORES]
    lines = [
        "| method | " + " | ".join(cols) + " | s / 1000 maps |",
        "|---|" + "---|" * (len(cols) + 1),
    ]
    chance = {k: bench.chance(dataset, k) for k in SCORES}
    for e in entries:
        cells = [_cell(e, dataset, k, chance[k]) for k in SCORES]
        name = f"*{e.name}* (null)" if e.null else e.name
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_cost(e, [dataset])} |")
    why = "no null map" if not bench.nulls else "a null's mean is undefined"
    best = [number(chance[k], ".2f", why) if k in WITH_CHANCE else "" for k in SCORES]
    lines.append("| **best null (chance)** | " + " | ".join(best) + " | |")
    return lines


def _criteria_legend() -> list[str]:
    lines = ["| symbol | criterion | formula | better | chance |", "|---|---|---|---|---|"]
    for c in CRITERIA:
        i = c.info()
        chance = "mask share" if i.chance is None else f"{i.chance:g}"
        lines.append(f"| {i.symbol} | {i.name} | `{i.formula}` | {i.direction} | {chance} |")
    return lines


def _verdict_mark(v: Verdict | None) -> str:
    return "—" if v is None else MARK[v.outcome]


def _findings_table(bench: Benchmark, findings: dict[str, dict[str, Verdict | None]]) -> list[str]:
    keys = list(DEFAULT_ONLY)
    lines = ["| method | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for e in bench.entries:
        row = [_verdict_mark(findings[e.key][k]) for k in keys]
        lines.append(f"| {e.name} | " + " | ".join(row) + " |")
    return lines


def _checks_table(bench: Benchmark, checks: dict[str, list[CheckResult]]) -> list[str]:
    names = [c.__name__.removeprefix("check_") for c in CHECKS]
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    sym = {"PASS": "pass", "FAIL": "**fail**", "SKIP": "–"}
    for e in bench.entries:
        lines.append(f"| {e.name} | " + " | ".join(sym[r.state] for r in checks[e.key]) + " |")
    return lines


def _card(
    bench: Benchmark,
    e: Entry,
    checks: list[CheckResult],
    findings: dict[str, Verdict | None],
    rank: tuple[str, Row, int] | None,
) -> list[str]:
    doc = (type(e.view.method.method).__doc__ or "").strip().split("\n\n")[0]
    tags = ", ".join(f"{k}={v}" for k, v in e.tags.items())
    lines = [
        f"# Saliency card: {e.name}",
        "",
        f"- command-line name: `{e.key}`; tags: {tags}; "
        + ("a null map (chance reference)" if e.null else "a saliency method"),
        f"- what it is: {' '.join(doc.split())}",
        f"- cost: {_cost(e, DATASETS)} s per 1,000 maps (one torch thread, this CPU)",
    ]
    if rank is not None:
        lines.append(_card_rank(bench, e, *rank))
    lines += ["", "## Scores (mean ± sd over seeds; ° not above the best null map)", ""]
    for d in DATASETS:
        lines += [f"### {d}", "", *_scores_table(bench, d, [e]), ""]
    lines += ["## Checks (`salcheck check`, homogeneous models)", ""]
    lines += [f"- {r.state}: {r.message().split('] ', 1)[1]}" for r in checks]
    lines += ["", "## The study's findings on these models", ""]
    lines += [
        f"- {k}: {v.outcome} — {v.message()}" if v else f"- {k}: not computed"
        for k, v in findings.items()
    ]
    lines += [
        "",
        "## Group maps (mean over seeds; M typical, M† atypical)",
        "",
        f"![{e.name}]({slug(e.name)}.png)",
        "",
    ]
    return lines


def _card_rank(bench: Benchmark, e: Entry, place: str, row: Row, n_rows: int) -> str:
    """The card's ranking line: the row's place (``2=``: tied), the methods it shares the row
    with (identical scores), its score and mean rank (never ``nan``)."""
    names = {x.key: x.name for x in bench.entries}
    others = [m for m in row.members if m != e.key]
    shared = (
        f"; shares its row with {row_label(others, names)} (identical scores on every unit)"
        if others
        else ""
    )
    tied = " (tied)" if place.endswith("=") else ""
    fails = f"; fails {', '.join(check_label(c) for c in row.failed)}" if row.failed else ""
    return (
        f"- ranking: row {place.rstrip('=')}{tied} of {n_rows} (score against the best null "
        f"{row.score.format(undefined=UNDEFINED_SCORE)}; mean rank "
        f"{number(row.mean_rank, '.2f', UNDEFINED_RANK)}{shared}{fails})"
    )


def render_benchmark(bench: Benchmark, out: str | Path) -> Path:
    """Write the benchmark report and its cards; returns the report's path."""
    rendered_at = git_commit()  # before the figures below change tracked files
    tier = bench.tier
    out = Path(out)
    card_dir = out / f"{tier.tag}-methods"
    checks = {e.key: bench.checks(e) for e in bench.entries}
    findings = bench.findings()
    ranking = bench.ranking()
    ranks = {
        m: (place, row, len(ranking.rows))
        for place, row in zip(ranking.places(), ranking.rows, strict=True)
        for m in row.members
    }
    for e in bench.entries:
        rows = [
            (
                d,
                np.mean([r.maps["typical"] for r in e.runs(d)], 0),
                np.mean([r.maps["atypical"] for r in e.runs(d)], 0),
            )
            for d in DATASETS
        ]
        group_map_figure(card_dir / f"{slug(e.name)}.png", rows, tier.image_size)
        card = _card(bench, e, checks[e.key], findings[e.key], ranks.get(e.key))
        atomic.write_text(card_dir / f"{slug(e.name)}.md", "\n".join(card))

    equivalences = bench.equivalences()
    offenders = null_outranks(bench) if any(e.key == "vanilla" for e in bench.entries) else None
    cost = bench.cost()
    n_eval = sum(len(e.runs(d)) for e in bench.entries for d in DATASETS)
    provenance = bench.entries[0].runs(DATASETS[0])[0].provenance
    lines = [
        f"# salcheck method benchmark: tier `{tier.name}`"
        + ("" if tier.network == "convnet" else f" on network `{tier.network}`"),
        "",
        f"Generated by `salcheck benchmark {tier.options()}` from the result store; do not edit "
        f"by hand. Which saliency method recovers the latent subtypes? {len(bench.methods)} "
        f"methods and {len(bench.nulls)} null maps, each evaluated on the same models: default "
        f"training on the {', '.join(DATASETS)} sets, seeds {', '.join(map(str, bench.seeds))} "
        f"({tier.image_size} x {tier.image_size}, {training_rule(tier)}; test set "
        f"{tier.test_n_per_class} per class). Each cell is the mean ± sd over seeds; ° marks a "
        "value not above the best null map's mean on the same models (the row *best null*). "
        "Localisation scores are on the typical atrophied images against each image's own "
        "ROI; ρ rand. is the rank correlation of |map| with the trained model's after cascading "
        "randomisation of every layer (a method that explains the model falls towards 0; the "
        "check suite asks for at most 0.3). a is the model's, the same for every method.",
        "",
        "## Criteria",
        "",
        *_criteria_legend(),
        "",
        "## Silent equivalences",
        "",
    ]
    if equivalences:
        lines += [
            f"- **{a.name}** computes the same maps as **{b.name}** (largest relative "
            f"difference of the group maps over every model: {d:.1g})"
            for a, b, d in equivalences
        ]
        lines += [
            "",
            "captum's GuidedBackprop and Deconvolution replace the backward pass of `nn.ReLU` "
            "only; the study's networks use `nn.LeakyReLU`, so captum's classes return the plain "
            "gradient (salcheck warns with `SilentEquivalenceWarning`). salcheck's "
            "`guided-backprop` and `deconvolution` apply the rule to every rectifier.",
        ]
        if any(is_name_rule(e) for pair in equivalences for e in pair[:2]):
            lines += ["", NAME_RULE_NOTE]
    else:
        lines.append(
            f"No two methods give the same maps (relative tolerance {EQUIVALENCE_TOLERANCE:g})."
        )
    lines += ["", "## Null maps against the study's gradient", ""]
    if offenders is None:
        lines.append("The study's gradient (`vanilla`) is not in this benchmark.")
    elif offenders:
        lines += ["A null map outranks the study's gradient:", ""] + [f"- {o}" for o in offenders]
    else:
        lines.append(
            "No null map reaches the study's gradient on b or c on any dataset (means over seeds)."
        )
    lines += ["", *_ranking_section(bench, ranking, card_dir)]
    for d in DATASETS:
        lines += ["", f"## {d}", "", *_scores_table(bench, d, bench.entries)]
    lines += [
        "",
        "## The study's findings per method",
        "",
        "Findings decidable on default-training models (✓ replicated, ✗ contradicted, ? "
        "inconclusive at alpha 0.05 by the exact sign-flip test, u undecidable, — not computed). "
        "Findings about training variants need "
        "the method on every cell: `salcheck verdicts --method NAME --run`.",
        "",
        *_findings_table(bench, findings),
        "",
        "## Checks",
        "",
        "The check suite (`salcheck check NAME`) on the homogeneous models; – : not selected "
        "by the method's tags.",
        "",
        *_checks_table(bench, checks),
        "",
        "## Saliency cards",
        "",
        *[f"- [{e.name}]({card_dir.name}/{slug(e.name)}.md)" for e in bench.entries],
        "",
        "## Cost and provenance",
        "",
        f"- {n_eval} evaluations took {cost['evaluate_s'] / 60:.1f} min of worker time "
        f"(one torch thread each), against {cost['train_s'] / 60:.1f} min to train the "
        f"{len(DATASETS) * len(bench.seeds)} models they share",
        *provenance_lines(provenance, rendered_at),
        "",
    ]
    path = out / f"{tier.tag}-methods.md"
    atomic.write_text(path, "\n".join(lines))
    return path


def _ranking_section(bench: Benchmark, ranking: Ranking, card_dir: Path) -> list[str]:
    """The ranking section and its critical-difference figure (written under ``card_dir``)."""
    names = {e.key: e.name for e in bench.entries}
    figure = None
    if ranking.friedman is not None:
        f = ranking.friedman
        critical_difference_figure(
            card_dir / "critical-difference.png",
            f.mean_ranks,
            f.cd,
            cliques=f.cliques,
            names={r.method: row_label(r.members, names) for r in ranking.rows},
            failed={r.method: [check_label(c) for c in r.failed] for r in ranking.rows},
        )
        figure = f"{card_dir.name}/critical-difference.png"
    unranked = [
        f"- {names[k]} is not ranked: {why} (no log ratio to the nulls exists)."
        for k, why in bench.unrankable().items()
    ]
    section = ranking_section(
        ranking,
        names=names,
        link=lambda k: f"{card_dir.name}/{slug(names[k])}.md",
        figure=figure,
    )
    return [*section, *unranked, *([""] if unranked else [])]

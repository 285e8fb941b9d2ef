"""Verdict tables and the texts that state the decision rule, for the reports.

A row per comparison: the finding's verdict for the method beyond the null maps (the
intersection of the method's own test and the null rule), the method's own verdict, the null
maps that satisfy the claim on their own, the method's own numbers (seeds, mean, effect size,
t-test p) and the deciding test's p and power (the intersection-union p of the own test and the
null rule).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from salcheck.science.findings import (
    CRITERIA_KEYS,
    POSTER_TEXT,
    ROUNDING_SIGNS,
    Comparison,
    FindingVerdict,
)
from salcheck.science.stats import ALPHA, Verdict, benjamini_hochberg, effect_text, least_p, p_text
from salcheck.science.verdicts import GATE_ALPHA


class Beside(NamedTuple):
    """Another tier's recorded verdicts, printed beside this tier's: the column's ``title``,
    key -> recorded ``outcomes``, and the ``seeds`` they were decided on (empty: not known)."""

    title: str
    outcomes: dict[str, str]
    seeds: tuple[int, ...] = ()


WORDS = {
    "replicated": "replicated",
    "contradicted": "**contradicted**",
    "inconclusive": "*inconclusive*",
    "undecidable": "undecidable",
}


COLUMNS = (
    "claim",
    "verdict",
    "the method alone",
    "null maps that satisfy it alone",
    "holds on seeds",
    "mean diff",
    "effect size",
    "p (exact)",
    "reverse p",
    "t-test p",
    "seeds for 80% power",
)


def _nulls_text(f: FindingVerdict) -> str:
    if f.rule is None:
        return "–"
    alone = [name for name, v in f.nulls_alone.items() if v.outcome == "replicated"]
    return table_text(", ".join(alone)) if alone else "none"


def _numbers(v: Verdict) -> list[str]:
    return [
        f"{v.k} of {v.n}",
        "–" if v.mean is None else f"{v.mean:+.2f}",
        "– (sd 0)" if v.effect_size is None else effect_text(v.effect_size),
        p_text(v.p_forward, v.n),
        p_text(v.p_reverse, v.n),
        "– (sd 0)" if v.t_p_forward is None else f"{v.t_p_forward:.3g}",
        "– (sd 0)" if v.effect_size is None else table_text(v.power.text),
    ]


def verdict_rows(
    findings: dict[str, FindingVerdict | None],
    comparisons: dict[str, Comparison],
    *,
    number: bool = True,
    q: dict[str, float] | None = None,
    beside: Beside | None = None,
) -> list[str]:
    """A Markdown table, one row per comparison (None: a result it reads is missing)."""
    cols = [
        *(["F"] if number else []),
        *COLUMNS,
        *(["BH q"] if q else []),
        *([beside.title] if beside else []),
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for key, f in findings.items():
        c = comparisons[key]
        lead = [f"F{c.number}"] if number else []
        other = [beside.outcomes.get(key, "–")] if beside else []
        claim = table_text(c.claim)
        if f is None or f.own.outcome == "undecidable":
            word = "cells missing" if f is None else f"undecidable: {table_text(f.own.reason)}"
            gap = [""] * (len(cols) - len(lead) - 2 - len(other))
            lines.append("| " + " | ".join([*lead, claim, word, *gap, *other]) + " |")
            continue
        v = f.verdict
        verdict = WORDS[v.outcome] + (f" ({table_text(v.reason)})" if v.outcome != f.own.outcome else "")
        cells = [
            *lead,
            claim,
            verdict,
            WORDS[f.own.outcome],
            _nulls_text(f),
            *_numbers(v),
            *([f"{q[key]:.3g}" if math.isfinite(q[key]) else "–"] if q else []),
            *other,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def bh_q(findings: dict[str, FindingVerdict | None]) -> dict[str, float]:
    """key -> Benjamini-Hochberg q over the family's deciding p (each finding's verdict p: the
    intersection-union p of the own test and the null rule); nan where a finding is missing or
    undecidable, and left out of the family."""
    p = [
        f.verdict.p_forward if f and f.verdict.p_forward is not None else math.nan
        for f in findings.values()
    ]
    return dict(zip(findings, benjamini_hochberg(p), strict=True))


def table_text(text: str) -> str:
    """``text`` safe in a Markdown table cell (``|log b|`` would split the cell)."""
    return text.replace("|", "\\|")


def count(verdicts: dict[str, Verdict | None]) -> dict[str, int]:
    """Verdicts per outcome, and ``"decided"``: those whose cells are all present."""
    done = [v for v in verdicts.values() if v is not None]
    return {"decided": len(done), **{o: sum(v.outcome == o for v in done) for o in WORDS}}


def rule_text(n_seeds: int) -> str:
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
        "The property suite's gate overturns a recorded *replicated* at alpha on the record's own "
        "models (the zoo's), and on retrained models at the threshold its record carries: the "
        "furthest a replicated comparison fell when the tier's seeds were trained again on another "
        "float path in the tier's stability measurement (`salcheck.science.stability`), "
        f"{GATE_ALPHA:g} where unmeasured. "
        "**Null rule.** A claim on the maps (b, c, b†, c†) holds for the method only when it also "
        "holds beyond the null maps (random, Sobel edges, constant, an untrained network's "
        "gradient) evaluated on the same models: for each null, the method's per-seed difference "
        "minus the null's is tested > 0 by the same exact test, and every null must be beaten (an "
        "intersection-union test, each at alpha, no correction; contradicted when a null beats "
        "the method at alpha / m, m nulls). The verdict column is the intersection of the method's own "
        "test and the null rule; the method alone and the nulls that satisfy the claim on their "
        "own stand beside it. The p columns and the power column are the deciding test's: p is "
        "the largest of the own test's and each null's p (the intersection-union p, below alpha "
        "exactly when every component is), reverse p the least of the own test's reverse p and "
        "m times the least null's (m nulls), power the most seeds any component needs; the "
        "seeds, mean difference, effect size and t-test p are the method's own. Claims on a (the "
        "model's features) and F8 (the model against its own randomisation) read no null."
    )


def headline(signs: dict[str, Verdict | None], q_values: dict[str, float]) -> str:
    """``Signs: K of M replicate at alpha (K' after Benjamini-Hochberg; R contradicted, ...)``."""
    n = count(signs)
    n_bh = sum(
        v is not None and v.outcome == "replicated" and q_values[k] < ALPHA for k, v in signs.items()
    )
    return (
        f"**Signs: {n['replicated']} of {n['decided']} replicate at alpha {ALPHA:g} ({n_bh} after "
        f"Benjamini-Hochberg; {n['contradicted']} contradicted, {n['inconclusive']} inconclusive, "
        f"{n['undecidable']} undecidable).**"
    )


def rounding_line(rounding: dict[str, Verdict | None]) -> str:
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

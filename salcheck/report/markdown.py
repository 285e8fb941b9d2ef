"""``salcheck report``: the poster's tables regenerated side by side, from the store.

Every number comes from stored cell results (mean ± sd over the tier's seeds) next to the
poster's value; missing cells are marked as such. The Markdown and its figures are written
atomically; nothing in them is edited by hand.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import SalcheckError
from ..experiment import RESULT_FORMAT_VERSION, RunResult, git_commit
from ..findings import COMPARISONS, CRITERIA_KEYS, POSTER, POSTER_TABLES
from ..store import Store
from ..tiers import Tier

HEADERS = ("a", "b", "c", "b†", "c†")
ACCURACY_KEYS = ("accuracy_CN", "accuracy_AD_none", "accuracy_AD_typical", "accuracy_AD_atypical")


class ReportError(SalcheckError):
    """Nothing to report (empty store, other format version)."""


def _cells(store: Store, tier: Tier, method: str) -> dict[tuple[str, str], list[RunResult]]:
    out: dict[tuple[str, str], list[RunResult]] = {}
    for spec in tier.grid(method=method):
        r = store.get(spec)
        out.setdefault((spec.dataset, spec.variant), [])
        if r is not None and r.status == "done":
            out[(spec.dataset, spec.variant)].append(r)
    return out


def _fmt(values: list[float]) -> str:
    if not values:
        return "missing"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def _table(cells, rows, n_seeds: int) -> list[str]:
    lines = ["| training data | variant | seeds | " + " | ".join(HEADERS) + " |",
             "|---|---|---|" + "---|" * len(HEADERS)]
    for dataset, variant in rows:
        runs = cells.get((dataset, variant), [])
        poster = POSTER[(dataset, variant)]
        parts = []
        for key, p in zip(CRITERIA_KEYS, poster, strict=True):
            parts.append(f"{_fmt([r.criteria[key] for r in runs])} ({p:g})")
        seeds = f"{len(runs)}/{n_seeds}" if len(runs) == n_seeds else f"{len(runs)}/{n_seeds} (missing)"
        lines.append(f"| {dataset} | {variant} | {seeds} | " + " | ".join(parts) + " |")
    return lines


def _verdicts(cells, tier: Tier) -> list[str]:
    lines = ["| finding | claim | verdict | holds on seeds | mean log ratio (95% lower bound) | p |",
             "|---|---|---|---|---|---|"]
    by_seed = {cell: {r.spec.seed: r.criteria for r in runs} for cell, runs in cells.items()}

    def values(dataset: str, variant: str, criterion: str) -> list[float]:
        return [by_seed[(dataset, variant)][s][criterion] for s in tier.seeds]

    for c in COMPARISONS.values():
        if any(len(by_seed.get(cell[:2], {})) < len(tier.seeds) for cell in (c.x, c.y)):
            lines.append(f"| F{c.number} | {c.claim} | cells missing | | | |")
            continue
        v = c.decide(values)
        verdict = "holds" if v.holds else "**does not replicate**"
        lines.append(f"| F{c.number} | {c.claim} | {verdict} | {v.k} of {v.n} | "
                     f"{v.mean_log_diff:+.2f} ({v.lower_bound:+.2f}) | {v.p_value:.3g} |")
    default = cells.get(("homogeneous", "default"), [])
    if default:
        a = [r.criteria["a"] for r in default]
        rho = [r.randomisation[-1]["spearman"] for r in default if r.randomisation]
        lines += ["", "F7 also needs a >= 0.8 on every seed: a = "
                  + ", ".join(f"{x:.2f}" for x in a) + "."]
        if rho:
            nums = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
            b_trained = [r.randomisation[0]["b"] for r in default]
            b_end = [r.randomisation[-1]["b"] for r in default]
            lines.append(f"F8 (cascading randomisation of the homogeneous default models): "
                         f"Spearman rho after full randomisation {nums(rho)}; b {nums(b_trained)}"
                         f" trained -> {nums(b_end)} randomised.")
    return lines


def _accuracy(cells) -> list[str]:
    lines = ["| training data | variant | balanced | CN | AD errors | AD typical | AD atypical |",
             "|---|---|---|---|---|---|---|"]
    for (dataset, variant), runs in cells.items():
        if not runs:
            continue
        vals = [_fmt([r.accuracy.get(k, math.nan) for r in runs])
                for k in ("balanced_accuracy", *ACCURACY_KEYS)]
        lines.append(f"| {dataset} | {variant} | " + " | ".join(vals) + " |")
    return lines


def render_report(store: Store, tier: Tier, out: str | Path, *, method: str = "vanilla") -> Path:
    """Write ``<out>/<tier>.md`` and its figures under ``<out>/<tier>/``; returns the path."""
    from .figures import group_map_figure, phantom_figure

    cells = _cells(store, tier, method)
    n_done = sum(len(v) for v in cells.values())
    if n_done == 0:
        other = store.other_versions()
        why = (f" (it holds results of result-format version(s) {', '.join(other)}; this "
               f"salcheck reads v{RESULT_FORMAT_VERSION})") if other else ""
        msg = (f"store {store.root} has no results for tier {tier.name}{why}; run `salcheck run "
               f"--tier {tier.name} --store {store.root}` or `salcheck report --run`")
        raise ReportError(msg)
    out = Path(out)
    fig_dir = out / tier.name
    phantom_figure(fig_dir / "phantoms.png", tier.image_size)
    figures = []
    for dataset in ("homogeneous", "heterogeneous", "large"):
        rows = [(variant, np.mean([r.maps["typical"] for r in runs], 0),
                 np.mean([r.maps["atypical"] for r in runs], 0))
                for (d, variant), runs in cells.items() if d == dataset and runs]
        if rows:
            group_map_figure(fig_dir / f"maps_{dataset}.png", rows, tier.image_size)
            figures.append(dataset)

    all_runs = [r for runs in cells.values() for r in runs]
    first = all_runs[0].provenance
    compute_s = sum(r.timings.get("total_s", 0.0) for r in all_runs)
    commits = sorted({str(r.provenance.get("git_commit")) for r in all_runs})
    lines = [
        f"# salcheck report: tier `{tier.name}`", "",
        f"Generated by `salcheck report --tier {tier.name}` from the result store; do not edit "
        "by hand. Each cell is salcheck's mean ± sd over training seeds "
        f"{', '.join(map(str, tier.seeds))}, with the poster's single number in parentheses.",
        "",
        f"Tier: {tier.image_size} x {tier.image_size} images; {tier.n_per_class['homogeneous']} "
        f"images per class (homogeneous, heterogeneous), {tier.n_per_class['large']} (large); "
        f"test set {tier.test_n_per_class} per class; {tier.epochs} epochs, batch "
        f"{tier.batch_size}; saliency method `{method}`. Criteria: a = feature-map subtyping "
        "(chance 0), b / b† = separability, c / c† = specificity (chance 1); higher is better.",
        "", "![phantoms](" + f"{tier.name}/phantoms.png)", "",
    ]
    for title, rows in POSTER_TABLES:
        lines += [f"## {title}", "", *_table(cells, rows, len(tier.seeds)), ""]
    lines += ["## Findings", "", "Decision rule: one-sided paired t-test over seeds of the log "
              "ratio at alpha = 0.05 (`salcheck.stats.paired_greater`).", "",
              *_verdicts(cells, tier), ""]
    lines += ["## Test accuracy per label and subtype", "", *_accuracy(cells), ""]
    lines += ["## Group maps", ""] + [f"![{d}]({tier.name}/maps_{d}.png)" for d in figures] + [""]
    lines += ["## Provenance", "",
              f"- cells: {n_done} results ({len(tier.grid(method=method))} expected)",
              f"- total compute: {compute_s / 60:.1f} min (sum over cells)",
              f"- salcheck commit(s): {', '.join(commits)}",
              f"- versions: {', '.join(f'{k} {v}' for k, v in first['versions'].items())}",
              f"- machine: {first['machine']['platform']}, {first['machine']['threads']} threads",
              f"- result format: v{RESULT_FORMAT_VERSION}; report rendered at "
              f"{time.strftime('%Y-%m-%d', time.gmtime())} from commit {git_commit()}", ""]
    path = out / f"{tier.name}.md"
    atomic.write_text(path, "\n".join(lines))
    return path

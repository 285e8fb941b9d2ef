"""``salcheck networks``: the network benchmark as Markdown (``<out>/<tier>-networks.md``).

Every number comes from stored evaluations through
:func:`salcheck.studies.network_benchmark.collect`; nothing is typed in by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import salcheck.atomic as atomic
from salcheck.models.custom import build_network
from salcheck.provenance import git_commit
from salcheck.report.methods_page import HEADERS, MARK, provenance_lines
from salcheck.report.tier_sections import training_rule
from salcheck.saliency.monai_adapter import NAME_RULE_NOTE, is_name_rule
from salcheck.saliency.resolve import MethodRef
from salcheck.science.findings import FindingVerdict
from salcheck.studies.method_benchmark import DATASETS
from salcheck.studies.network_benchmark import FINDINGS, SCORES, NetworkBenchmark


def _mean_sd(values: list[float]) -> str:
    """``mean ± sd`` over seeds; ``undefined on k of n seeds`` where a value is not finite (a
    ratio of all-zero maps, 0/0)."""
    bad = int(np.sum(~np.isfinite(values)))
    if bad:
        return f"undefined on {bad} of {len(values)} seeds"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def _network_rows(bench: NetworkBenchmark) -> list[str]:
    """One row per network: parameters, the features seam, training cost, accuracy."""
    lines = [
        "| network | parameters | criterion a reads | s / epoch | min / model | balanced accuracy "
        "(homogeneous, heterogeneous, large) |",
        "|---|---|---|---|---|---|",
    ]
    for n in bench.networks:
        net = build_network(n, bench.tier.image_size, generator=torch.Generator())
        params = sum(p.numel() for p in net.parameters())
        seam = f"`{getattr(net, 'layer', None) or 'features()'}`"
        cost = bench.cost(n)
        acc = ", ".join(_mean_sd(bench.accuracy(n, d)) for d in DATASETS)
        lines.append(
            f"| `{n}` | {params / 1e6:.2f} M | {seam} | {cost['s_per_epoch']:.1f} | "
            f"{cost['train_s'] / 60:.1f} | {acc} |"
        )
    return lines


def _scores_table(bench: NetworkBenchmark, dataset: str) -> list[str]:
    """Rows network x method (and each network's best null): mean ± sd over seeds."""
    cols = [HEADERS[k] for k in SCORES]
    lines = ["| network | method | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for n in bench.networks:
        chance = {k: bench.chance(n, dataset, k) for k in SCORES[1:]}
        for m in bench.methods:
            cells = []
            for k in SCORES:
                v = bench.values(n, m, dataset, k)
                low = k != "a" and bool(np.isfinite(v).all()) and not np.mean(v) > chance[k]
                cells.append(_mean_sd(v) + (" °" if low else ""))
            lines.append(f"| `{n}` | {m.name} | " + " | ".join(cells) + " |")
        best = [""] + [f"{chance[k]:.2f}" for k in SCORES[1:]]
        lines.append(f"| `{n}` | *best null (chance)* | " + " | ".join(best) + " |")
    return lines


def _mark(f: FindingVerdict | None) -> str:
    return "—" if f is None else MARK[f.verdict.outcome]


def _findings_table(bench: NetworkBenchmark) -> list[str]:
    keys = list(FINDINGS)
    found = bench.findings()
    lines = ["| network | method | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for n in bench.networks:
        for m in bench.methods:
            row = [_mark(found[n][m.spec][k]) for k in keys]
            lines.append(f"| `{n}` | {m.name} | " + " | ".join(row) + " |")
    return lines


def _equivalences(bench: NetworkBenchmark) -> list[str]:
    lines, guided = [], False
    for n in bench.networks:
        pairs: list[tuple[MethodRef, MethodRef, float]] = bench.equivalences(n)
        guided |= any(is_name_rule(a) or is_name_rule(b) for a, b, _ in pairs)
        lines += [
            f"- on `{n}`: **{a.name}** computes the same maps as **{b.name}** (largest relative "
            f"difference of the group maps over every model: {d:.1g})"
            for a, b, d in pairs
        ]
    if guided:
        lines += ["", NAME_RULE_NOTE]
    return lines or ["No two methods give the same maps on any network."]


def _cost_lines(bench: NetworkBenchmark) -> list[str]:
    lines = []
    for n in bench.networks:
        c = bench.cost(n)
        lines.append(
            f"- `{n}`: {c['models']:.0f} models, {c['models'] * c['train_s'] / 60:.1f} min of "
            f"training and {c['evaluate_s'] / 60:.1f} min of evaluation (worker time, one torch "
            "thread each)"
        )
    return lines


def render_networks(bench: NetworkBenchmark, out: str | Path) -> Path:
    """Write the network benchmark's page; returns its path."""
    tier = bench.tier
    provenance = bench.view(bench.networks[0], bench.methods[0]).models(DATASETS[0])[0].provenance
    lines = [
        f"# salcheck network benchmark: tier `{tier.name}`",
        "",
        f"Generated by `salcheck networks --tier {tier.name}` from the result store; do not edit "
        f"by hand. Do the study's findings hold on other networks? {len(bench.methods)} methods "
        f"and {len(bench.nulls)} null maps on {len(bench.networks)} networks, each trained with "
        f"the study's default training on the {', '.join(DATASETS)} sets, seeds "
        f"{', '.join(map(str, bench.seeds))}: the same cohorts, splits and test set for every "
        f"network ({tier.image_size} x {tier.image_size}, {training_rule(tier)}; test set "
        f"{tier.test_n_per_class} per class). Each cell is the mean ± sd over seeds; ° marks a "
        "value not above the best null map's mean on the same network's models. a is the "
        "model's (the same for every method), read at the layer the table of networks names.",
        "",
        "## Networks",
        "",
        *_network_rows(bench),
    ]
    for d in DATASETS:
        lines += ["", f"## {d}", "", *_scores_table(bench, d)]
    lines += [
        "",
        "## The study's findings per network and method",
        "",
        "Findings decidable on default-training models, for the method and beyond the null maps "
        "(✓ replicated, ✗ contradicted, ? inconclusive at alpha 0.05, u undecidable: a model "
        "that did not learn, — not computed).",
        "",
        *_findings_table(bench),
        "",
        "## Silent equivalences",
        "",
        *_equivalences(bench),
        "",
        "## Cost and provenance",
        "",
        *_cost_lines(bench),
        *provenance_lines(provenance, git_commit()),
        "",
    ]
    path = Path(out) / f"{tier.name}-networks.md"
    atomic.write_text(path, "\n".join(lines))
    return path

"""The sections of a tier's report that read the evidence beside the verdicts: how far the
numbers are from the poster's (magnitudes), how the models were trained (convergence), what
they predict (accuracy), the F2 control's note and the signs' family."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from salcheck.report.verdict_table import (
    Beside,
    bh_q,
    count,
    headline,
    rounding_line,
    table_text,
    verdict_rows,
)
from salcheck.science.findings import CRITERIA_KEYS, POSTER, ROUNDING_SIGNS, SIGNS, SYMBOLS
from salcheck.science.power import bh_power, effect_of
from salcheck.science.stats import ALPHA, Verdict
from salcheck.store.records import ModelResult
from salcheck.store.view import MissingResults
from salcheck.training.stopping import (
    LEARNED_BALANCED_ACCURACY,
    LEARNED_SUBTYPE_ACCURACY,
    learned_subtype,
    replay,
)

if TYPE_CHECKING:
    from salcheck.store.tiers import Tier
    from salcheck.store.view import ResultsView

ACCURACY_KEYS = (
    "balanced_accuracy",
    "accuracy_CN",
    "accuracy_AD_none",
    "accuracy_AD_typical",
    "accuracy_AD_atypical",
)
ACCURACY_HEADERS = ("balanced", "CN", "AD errors", "AD typical", "AD atypical")
RATIO_KEYS = ("b", "c", "b_dagger", "c_dagger")


#: Why a criterion's value is undefined on a seed (NaN): :func:`salcheck.criteria.base.ratio`
#: of 0/0 (a map that is 0 on both regions), or a group with no image behind its map (no
#: atypical image classified correctly, say; :func:`salcheck.engine.evaluate.score_maps`).
UNDEFINED_CRITERION = "0/0, or no image in the group, e.g. no atypical image classified correctly"


def number(x: float, spec: str = ".2f", why: str = UNDEFINED_CRITERION) -> str:
    """``x`` formatted by ``spec``; never ``nan`` or ``inf``: NaN is the word *undefined* with
    ``why``, its reason; an infinity is ``∞`` (``-∞``).

    Examples:
        >>> number(0.125), number(float("nan"), why="no null map"), number(float("-inf"))
        ('0.12', 'undefined (no null map)', '-∞')
    """
    if math.isnan(x):
        return f"undefined ({why})"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:{spec}}"


def fmt(values: list[float], why: str = UNDEFINED_CRITERION) -> str:
    """mean ± sd over seeds (one value: itself; none: *missing*). Never ``nan`` or ``inf``: a
    NaN on any seed makes the mean undefined, said with ``why``, its reason, and on how many
    seeds; an infinite value (a ratio x/0) makes it ``∞``, on so many seeds.

    Examples:
        >>> fmt([1.0, 2.0, 3.0]), fmt([1.0, float("nan")], why="no AD image"), fmt([])
        ('2.00 ± 1.00', 'undefined on 1 of 2 seeds (no AD image)', 'missing')
        >>> fmt([float("nan")] * 3, why="a null scored 0")
        'undefined (a null scored 0)'
        >>> fmt([2.0, float("inf")]), fmt([float("-inf")])
        ('∞ on 1 of 2 seeds', '-∞')
    """
    if not values:
        return "missing"
    x = np.asarray(values, float)
    nan, inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    if nan:
        seeds = "" if nan == len(x) else f" on {nan} of {len(x)} seeds"
        return f"undefined{seeds} ({why})"
    if inf:
        signs = {"-" if v < 0 else "" for v in x[np.isinf(x)]}
        seeds = "" if inf == len(x) else f" on {inf} of {len(x)} seeds"
        return f"{'±' if len(signs) > 1 else signs.pop()}∞{seeds}"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def magnitudes(view: ResultsView) -> list[str]:
    """Each criterion against the poster's number over the cells present: log ratio of the
    geometric mean over seeds to the poster's value (a: the difference of means)."""
    gaps: dict[str, list[tuple[float, str, float, float]]] = {k: [] for k in CRITERIA_KEYS}
    for (dataset, variant), poster in POSTER.items():
        if not view.available(dataset, variant):
            continue
        for i, k in enumerate(CRITERIA_KEYS):
            values = view.values(dataset, variant, k)
            if k == "a":
                ours = float(np.mean(values))
                gap = ours - poster[i]
            else:
                ours = float(np.exp(np.mean(np.log(values)))) if min(values) > 0 else math.nan
                gap = math.log(ours / poster[i]) if ours > 0 else math.nan
            gaps[k].append((gap, f"{variant} on {dataset}", ours, poster[i]))
    lines = [
        "Each cell of the poster's tables against salcheck's: the log ratio of salcheck's geometric "
        "mean over seeds to the poster's number (0: equal; +0.69: twice the poster's; -0.69: half), "
        "for a the difference of means. The protocol these numbers use was chosen by measurement "
        "(`salcheck protocol`, docs/definitions.md); what remains is the scale "
        "of the tier, the single training run behind each poster number, and what the poster "
        "leaves unsaid.",
        "",
        "| criterion | cells | median gap | above the poster | largest gap (cell: salcheck vs poster) |",
        "|---|---|---|---|---|",
    ]
    for k, rows in gaps.items():
        finite = [r for r in rows if math.isfinite(r[0])]
        if not finite:
            continue
        worst = max(finite, key=lambda r: abs(r[0]))
        above = sum(r[0] > 0 for r in finite)
        lines.append(
            f"| {SYMBOLS[k]} | {len(finite)} | {np.median([r[0] for r in finite]):+.2f} | "
            f"{above} of {len(finite)} | {worst[1]}: {worst[2]:.2f} vs {worst[3]:g} ({worst[0]:+.2f}) |"
        )
    default = [(d, "default") for d in ("homogeneous", "heterogeneous") if view.available(d, "default")]
    if len(default) == 2:
        d = float(
            np.mean(
                [abs(g) for k in RATIO_KEYS for g, cell, *_ in gaps[k] if cell.startswith("default on")]
            )
        )
        why = "a value on some seed is not above 0 or is undefined, so its geometric mean is undefined"
        lines += [
            "",
            f"On default training (homogeneous, heterogeneous), D = {number(d, '.3f', why)}: the "
            "protocol study's distance (mean |log ratio| over b, c, b†, c†).",
        ]
    return lines


def models_of(view: ResultsView) -> dict[tuple[str, str], list[ModelResult]]:
    """The model records of every cell of the tier (empty where missing)."""
    out: dict[tuple[str, str], list[ModelResult]] = {}
    for dataset, variant in view.tier.cells():
        try:
            out[(dataset, variant)] = view.models(dataset, variant)
        except MissingResults:
            out[(dataset, variant)] = []
    return out


def _spread(values: list[int]) -> str:
    return f"{int(np.median(values))} ({min(values)}-{max(values)})"


def training_rule(tier: Tier) -> str:
    """How a tier's models train, in words: its stop rule and length (every page says it so)."""
    if tier.patience:
        return (
            f"early stopping on the validation loss with patience {tier.patience} (tolerance "
            f"{tier.tolerance:g}), at most {tier.epochs} epochs"
        )
    return f"{tier.epochs} epochs, no early stopping"


def convergence(view: ResultsView, models: dict[tuple[str, str], list[ModelResult]]) -> list[str]:
    """Per cell: models that learned (and learned the atypical subtype), epochs run, why they
    stopped, and the kept epoch."""
    rule = training_rule(view.tier)
    lines = [
        f"Training: {rule}; the epoch of the lowest validation loss is kept (the F2 control runs "
        "every epoch of its length). A model *learned* when the kept epoch's validation balanced "
        f"accuracy reaches {LEARNED_BALANCED_ACCURACY:g} (chance 0.5); it *learned the atypical "
        f"subtype* when it calls at least {LEARNED_SUBTYPE_ACCURACY:g} of the test set's atypical "
        "atrophied images atrophied. A run *still improving* stopped at its cap while its "
        "validation loss was still falling (lower, beyond the tolerance, in its last patience "
        "epochs than before them; the last quarter without patience). A comparison that reads a "
        "cell where a model did not learn or was still improving is *undecidable*, and so is one "
        "that reads the atypical map (b†, c†) of a cell where a model did not learn the atypical "
        "subtype.",
        "",
        "| training data | variant | learned | learned the atypical subtype | epochs run | stopped "
        "by patience | at the cap, still improving | kept epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, variant), runs in models.items():
        if not runs:
            continue
        learned = sum(r.learned for r in runs)
        atypical = "not evaluated"
        if view.available(dataset, variant, ("features",)):
            atypical = (
                f"{sum(learned_subtype(a) for a in view.accuracy(dataset, variant))} of {len(runs)}"
            )
        run = [int(r.stop.get("epochs_run", len(r.history))) for r in runs]
        patience = sum(r.stop.get("reason") == "patience" for r in runs)
        improving = sum(r.still_improving for r in runs)
        lines.append(
            f"| {dataset} | {variant} | {learned} of {len(runs)} | {atypical} | {_spread(run)} | "
            f"{patience} of {len(runs)} | {improving} | {_spread([r.best_epoch for r in runs])} |"
        )
    return lines + _replayed(view, models)


def _replayed(view: ResultsView, models: dict[tuple[str, str], list[ModelResult]]) -> list[str]:
    """The tier's patience chosen by measurement: stricter rules replayed on the recorded
    histories (exact: the same seed gives the same epochs up to an earlier stop)."""
    t = view.tier
    runs = [r for (d, _), rs in models.items() if d != "homogeneous-steps" for r in rs]
    if not t.patience or not runs:
        return []
    lines = [
        "",
        f"The patience, chosen by measurement: each stricter stop rule replayed on the "
        f"{len(runs)} recorded runs (exact: a rule that stops no later follows the same epochs). "
        "A rule that keeps another epoch than the tier's would change the model.",
        "",
        "| patience | tolerance | same kept epoch | epochs, against the tier's rule |",
        "|---|---|---|---|",
    ]
    total = sum(len(r.history) for r in runs)
    for patience in sorted({3, 5, 7, t.patience}):
        for tolerance in sorted({t.tolerance, 0.01}):
            if patience > t.patience or tolerance < t.tolerance:
                continue
            out = [replay(r.history, patience, tolerance, t.epochs) for r in runs]
            same = sum(kept == r.best_epoch for (_, kept), r in zip(out, runs, strict=True))
            epochs = sum(run for run, _ in out)
            lines.append(
                f"| {patience} | {tolerance:g} | {same} of {len(runs)} | {epochs / total:.0%} |"
            )
    return lines


def steps_note(
    models: dict[tuple[str, str], list[ModelResult]], control: dict[str, Verdict | None]
) -> list[str]:
    """What the step-matched control shows, from its best epochs and the F2 verdicts."""
    runs = models.get(("homogeneous-steps", "default"), [])
    own = {r.spec.seed: r for r in models.get(("homogeneous", "default"), [])}
    lines = []
    if runs:
        same = [r for r in runs if r.spec.seed in own and r.best_epoch == own[r.spec.seed].best_epoch]
        lengths = ", ".join(
            f"{r.best_epoch} ({own[r.spec.seed].stop.get('epochs_run', '?')})"
            for r in runs
            if r.spec.seed in own
        )
        lines.append(
            f"The step-matched models' best validation epochs are {lengths} (in brackets: the "
            f"epochs the homogeneous run of the same seed ran before it stopped). On {len(same)} of "
            f"{len(runs)} seeds the kept model is the homogeneous model itself (same seed, same "
            "first epochs, the same best epoch), and the two rows agree by construction."
        )
        lines += _kept_steps(runs, models.get(("large", "default"), []))
    by: Callable[[str, str], list[str]] = lambda family, outcome: [
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


def _kept_steps(control: list[ModelResult], large: list[ModelResult]) -> list[str]:
    """The optimiser steps behind the kept control and large models (best epoch x steps per
    epoch): F2's control matches the large set's steps at the cap, not at the kept epoch."""
    if not control or not large:
        return []

    def steps(r: ModelResult) -> float:
        n_train = round(2 * r.spec.train_spec().n_per_class * 0.8)  # two classes, 20% validation
        return r.best_epoch * math.ceil(n_train / r.spec.batch_size)

    c, g = (float(np.median([steps(r) for r in runs])) for runs in (control, large))
    return [
        f"The kept models are not matched in optimiser steps: the median kept control model trained "
        f"{c:,.0f} steps, the median kept large-set model {g:,.0f}; the control matches the large "
        "set's steps at its cap only, so this section cannot separate the data's share of F2 from "
        "the steps' where the kept models' steps differ."
    ]


def accuracy(view: ResultsView) -> list[str]:
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
        cells = [fmt(vals[i], why="no such image in the test set") for i in keep]
        lines.append(f"| {dataset} | {variant} | " + " | ".join(cells) + " |")
    return lines


def signs_section(view: ResultsView, beside: Beside | None) -> tuple[list[str], list[str]]:
    """(the headline and the rounding line, the signs' section): one family, with BH."""
    findings = view.findings_available(SIGNS)
    rounding_findings = view.findings_available(ROUNDING_SIGNS)
    signs = {k: f.verdict if f else None for k, f in findings.items()}
    rounding = {k: f.verdict if f else None for k, f in rounding_findings.items()}
    q_values = bh_q(findings)
    n_signs = count(signs)["decided"]
    n_tested = sum(math.isfinite(q) for q in q_values.values())
    n_bh = sum(q < ALPHA for q in q_values.values() if math.isfinite(q))
    top = [headline(signs, q_values), "", rounding_line(rounding), ""]
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
        *verdict_rows(findings, SIGNS, number=False, q=q_values, beside=beside),
        "",
        *power_lines([f.own for f in findings.values() if f is not None], len(view.seeds)),
        "### Inside the poster's printed rounding (not counted, no correction)",
        "",
        *verdict_rows(rounding_findings, ROUNDING_SIGNS, number=False, beside=beside),
        "",
    ]


#: Seeds at which the BH power simulation is shown (beside the tier's own), its draws and seed.
POWER_SEEDS = (5, 10, 15)
POWER_DRAWS = 100
POWER_RNG_SEED = 0


def power_lines(own: list[Verdict], n_now: int) -> list[str]:
    """What more seeds would decide: :func:`salcheck.science.power.bh_power` at the signs' own
    observed effect sizes, at :data:`POWER_SEEDS` and the tier's own seed count."""
    if not own:
        return []
    effects = [effect_of(v) for v in own]
    seeds = sorted({*POWER_SEEDS, n_now})
    rows = bh_power(effects, seeds, draws=POWER_DRAWS, rng=np.random.default_rng(POWER_RNG_SEED))
    with_effect = rows[0].with_effect
    lines = [
        "### What more seeds would decide",
        "",
        f"A power simulation of the exact test at the effect sizes the signs' own tests observed "
        f"here ({with_effect} of {len(own)} signs with an effect in the poster's direction; "
        f"each seed's difference drawn Normal(d_z, 1), {POWER_DRAWS} simulated studies, "
        f"generator seed {POWER_RNG_SEED}): how many of those signs Benjamini-Hochberg keeps at "
        f"FDR {ALPHA:g}. Observed effects of the strongest signs overstate their true effects, so "
        "the counts are an upper guide; and they simulate the method's own test alone, while the "
        "headline's BH reads each sign's deciding p (the own test and the null rule), so they are "
        "an upper guide to it as well.",
        "",
        "| seeds | signs kept after BH (mean, 10th-90th percentile) | false discoveries (mean) |",
        "|---|---|---|",
    ]
    for r in rows:
        mark = " (this tier)" if r.seeds == n_now else ""
        lines.append(
            f"| {r.seeds}{mark} | {r.mean_kept:.1f} ({r.low}-{r.high}) of {r.with_effect} | "
            f"{r.mean_false:.1f} |"
        )
    return [*lines, ""]


OUTCOME_ORDER = ("replicated", "contradicted", "inconclusive", "undecidable")


def agreement_interval(agree: int, n: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) 95 % interval of an agreement rate ``agree / n``
    (``scipy.stats.binomtest(...).proportion_ci``), treating comparisons as independent trials.

    Examples:
        >>> [round(x, 3) for x in agreement_interval(8, 10)]
        [0.444, 0.975]
    """
    ci = stats.binomtest(agree, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def _seeds_note(title: str, theirs: int, here: int) -> str:
    """Why a replication can fail to carry over for want of seeds: the least attainable p of
    the exact test on each tier's seeds (1 / 2^n)."""
    if not theirs or not here or theirs == here:
        return ""
    fewer = "here" if here < theirs else f"at the {title}"
    return (
        f"The {title}'s verdicts were decided on {theirs} seeds (least attainable p "
        f"1/{2**theirs}), this tier's on {here} (1/{2**here}). A replication on one side that is "
        f"inconclusive {fewer} can be the fewer seeds rather than the scale; a move between "
        "replicated and contradicted is not the seeds."
    )


def agreement(families: dict[str, dict[str, Any]], beside: Beside, seeds_here: int = 0) -> list[str]:
    """How far another tier's recorded verdicts (``beside``) predict this tier's, decided on
    ``seeds_here`` seeds (0: not said): per family, a cross-table of outcomes, the agreement
    rate with its exact interval, and each comparison where they differ. ``families``: title ->
    key -> verdict (None: missing)."""
    title, recorded = beside.title, beside.outcomes
    note = _seeds_note(title, len(beside.seeds), seeds_here)
    lines = [
        f"Each comparison decided here and recorded at the {title} (rows: {title}; columns: this "
        "tier). The agreement rate is the share of comparisons with the same outcome; a "
        f"*replicated* at the {title} that is not replicated here is what a user trusting the "
        f"{title} gate would have got wrong." + (f" {note}" if note else ""),
        "",
    ]
    for family, verdicts in families.items():
        pairs = [(k, recorded[k], v) for k, v in verdicts.items() if v is not None and k in recorded]
        if not pairs:
            continue
        same = sum(a == v.outcome for _, a, v in pairs)
        trusted = [v.outcome for _, a, v in pairs if a == "replicated"]
        low, high = agreement_interval(same, len(pairs))
        lines += [
            f"**{family}**: {same} of {len(pairs)} agree ({same / len(pairs):.0%}, 95 % interval "
            f"{low:.0%}-{high:.0%}); of the "
            f"{len(trusted)} replicated at the {title}, {trusted.count('replicated')} replicate here.",
            "",
            f"| {title} \\\\ this tier | " + " | ".join(OUTCOME_ORDER) + " |",
            "|---|" + "---|" * len(OUTCOME_ORDER),
        ]
        for a in OUTCOME_ORDER:
            row = [str(sum(1 for _, x, v in pairs if x == a and v.outcome == b)) for b in OUTCOME_ORDER]
            lines.append(f"| {a} | " + " | ".join(row) + " |")
        differ = [
            f"{table_text(v.claim)} (`{k}`: {a} there, {v.outcome} here)"
            for k, a, v in pairs
            if a != v.outcome
        ]
        said = f"Where they differ: {'; '.join(differ)}." if differ else "They agree on every one."
        lines += ["", said, ""]
    return lines

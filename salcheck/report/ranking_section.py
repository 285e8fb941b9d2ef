"""The *Ranking* section of the benchmark page, as Markdown lines, from a
:class:`salcheck.science.ranking.Ranking`: the sanity block and its reason, the scores against the
nulls with intervals, the neighbours' probabilities, the Friedman test and the
critical-difference figure. Pure: no store, no files written (the figure is linked, not drawn)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from salcheck.report.tier_sections import number
from salcheck.science.ranking import FAILS, PASSES, Neighbours, Ranking, Row

HEADERS = {"b": "b", "c": "c", "b_dagger": "b†", "c_dagger": "c†"}
AGGREGATE_NAMES = {"iqm": "interquartile mean (IQM)", "median": "median"}

WHY = (
    "**Sanity first.** A map explains this model only if it depends on the model. Two checks "
    "ask that: after cascading randomisation of every layer's weights the maps must change "
    "(rank correlation of |map| with the trained model's at most 0.3; Adebayo et al. 2018), "
    "and on b and c the method must beat the best null map, a map made without the trained "
    "model (random, constant, Sobel edges, the gradient of an untrained network), beyond the "
    "seed spread. A method that fails either can still score high, because its maps follow the "
    "image rather than the network (a map multiplied by the input keeps the image's structure "
    "when the network is destroyed), so its b and c measure the phantom, not the explanation. "
    "Such methods are listed after every method that passes, whatever their scores, with the "
    "failed check named."
)

SHARED = (
    "**Identical methods and ties.** Methods whose log ratios to the best null are exactly equal "
    "on every (dataset, seed) and criterion, and that fail the same checks, compute the same "
    "scores under several names: they share one row, their names joined by =, and count once "
    "in the mean ranks, the Friedman test and the neighbours below. Rows with the same score "
    "and the same mean rank are tied: they share a place, marked = (2=), and are listed in the "
    "order the benchmark was asked for, never by name."
)


def check_label(name: str) -> str:
    """A reader's name for a sanity check: ``beats_nulls(b)`` -> ``beats the nulls on b``."""
    name = name.removeprefix("check_")
    if name.startswith("beats_nulls(") and name.endswith(")"):
        k = name[len("beats_nulls(") : -1]
        return f"beats the nulls on {HEADERS.get(k, k)}"
    return name.replace("_", " ")


#: Why an aggregate of log ratios is undefined (:meth:`Interval.format`'s reason on the page).
UNDEFINED_SCORE = "a method or a null scored 0 or an undefined value on some unit: no log ratio"
#: Why a mean rank is undefined (a row built outside :func:`salcheck.science.ranking.rank`).
UNDEFINED_RANK = "not ranked against the other rows"


def _method(key: str, names: Mapping[str, str], link: Callable[[str], str | None]) -> str:
    name = names.get(key, key)
    target = link(key)
    return f"[{name}]({target})" if target else name


def row_label(
    members: Sequence[str],
    names: Mapping[str, str] | None = None,
    link: Callable[[str], str | None] | None = None,
) -> str:
    """A row's methods joined by `` = `` (methods with identical scores share a row, in the
    order the benchmark was asked for), each by its display name, linked when ``link`` gives a
    target: ``Vanilla gradient = GuidedBackprop (captum)``."""
    names, link = names or {}, link or (lambda _: None)
    return " = ".join(_method(m, names, link) for m in members)


def _block(
    rows: Sequence[tuple[str, Row]],
    ranking: Ranking,
    names: Mapping[str, str],
    link: Callable[[str], str | None],
) -> list[str]:
    if not rows:
        return ["None.", ""]
    fails = rows[0][1].block == FAILS
    cols = [HEADERS.get(k, k) for k in ranking.criteria]
    head = ["rank", "method", *(["fails"] if fails else []), "score", *cols, "mean rank"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for place, r in rows:
        failed = [", ".join(check_label(c) for c in r.failed)] if fails else []
        score = r.score.format(undefined=UNDEFINED_SCORE)
        cells = [place, row_label(r.members, names, link), *failed, f"**{score}**"]
        cells += [r.criteria[k].format(undefined=UNDEFINED_SCORE) for k in ranking.criteria]
        cells.append(number(r.mean_rank, ".2f", UNDEFINED_RANK))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _neighbour(n: Neighbours, ranking: Ranking, names: Mapping[str, str]) -> str:
    members = {r.method: r.members for r in ranking.rows}
    better, worse = (row_label(members.get(k, (k,)), names) for k in (n.better, n.worse))
    if n.across_blocks:
        verdict = "sanity boundary: ordered by the checks, not by the scores"
    else:
        verdict = "yes" if n.separated else "no"
    p = n.probability.format(signed=False, undefined="no unit to compare on")
    return f"| {better} › {worse} | {p} | {verdict} |"


def _friedman(ranking: Ranking, figure: str | None) -> list[str]:
    f = ranking.friedman
    if f is None:
        return ["Fewer than 3 methods: no Friedman test.", ""]
    k, N = f.k, f.n_units
    shared = any(len(r.members) > 1 for r in ranking.rows)
    what = "rows (methods that share a row count once)" if shared else "methods"
    why = "no statistic without a difference between the rows"
    lines = [
        f"Friedman test over the {k} {what} on the {N} (dataset, seed) units, each unit "
        "ranking them by their mean rank over "
        f"{', '.join(HEADERS.get(c, c) for c in ranking.criteria)}: χ²_F = "
        f"{number(f.statistic, '.1f', why)} ({k - 1} df), p = {number(f.p_value, '.2g', why)}; "
        f"Iman-Davenport F_F = {number(f.iman_davenport, '.1f', why)} "
        f"({k - 1}, {(k - 1) * (N - 1)} df), p = {number(f.p_iman_davenport, '.2g', why)}. "
        f"Nemenyi critical difference at α = {f.alpha:g}: CD = q_α √(k(k+1)/6N) = {f.cd:.2f} "
        "mean ranks (Demšar 2006). In the figure, methods joined by a bar do not differ at α; "
        "red methods fail a sanity check.",
        "",
    ]
    if figure:
        lines += [f"![Critical-difference diagram of the methods' mean ranks]({figure})", ""]
    return lines


def _choices(ranking: Ranking, n_units: int) -> str:
    """Why this aggregate and this interval, for the page."""
    seeds = "/".join(str(n) for n in dict.fromkeys(ranking.units.values()))
    if ranking.aggregate == "iqm":
        kept = n_units - 2 * (n_units // 4)
        text = (
            f"The IQM is the mean of the middle {kept} of the {n_units} units: robust to a "
            f"diverged seed like the median, whose resamples, with {seeds} seeds per dataset, "
            "take only a handful of values."
        )
    else:
        text = f"The {ranking.aggregate}: robust to a diverged seed."
    if ranking.resampling.method == "percentile":
        text += (
            " Percentile rather than BCa: BCa's corrections would be estimated from "
            f"{seeds} seeds per dataset, and in simulation at 3 x 5 units neither is exact "
            "(nominal 95 % intervals cover about 89 %, BCa 87 %): read the intervals as the "
            "least uncertainty there is."
        )
    return text


def ranking_section(
    ranking: Ranking,
    *,
    names: Mapping[str, str] | None = None,
    link: Callable[[str], str | None] | None = None,
    figure: str | None = None,
) -> list[str]:
    """The page's *Ranking* section. ``names``: method key -> display name; ``link``: method key
    -> a relative link (its card) or None; ``figure``: the relative path of the CD diagram."""
    names, link = names or {}, link or (lambda _: None)
    res, units = ranking.resampling, ranking.units
    n_units = sum(units.values())
    seeds = "/".join(str(n) for n in dict.fromkeys(units.values()))
    numbered = list(zip(ranking.places(), ranking.rows, strict=True))
    aggregate = AGGREGATE_NAMES.get(ranking.aggregate, ranking.aggregate)
    return [
        "## Ranking",
        "",
        WHY,
        "",
        "**Against chance.** Each criterion is scored as the log ratio to the best null map on "
        "the same dataset and criterion (the null with the highest mean), seed by seed on the "
        "same models: 0 is chance, +0.69 twice the best null, negative below it. A method's "
        "score on a (dataset, seed) is the mean of these over "
        f"{', '.join(HEADERS.get(k, k) for k in ranking.criteria)}. Each cell is the "
        f"{aggregate} over the {n_units} (dataset, seed) units with a {res.confidence:.0%} "
        f"{res.method} bootstrap interval that resamples the {seeds} seeds within each dataset "
        f"({res.n_resamples} resamples). {_choices(ranking, n_units)} Mean rank: over the "
        "units, of the rank by mean rank over the criteria "
        "(the Friedman test's R_j, 1 = best).",
        "",
        SHARED,
        "",
        "### Methods that pass every sanity check",
        "",
        *_block([(i, r) for i, r in numbered if r.block == PASSES], ranking, names, link),
        "### Methods that fail a sanity check",
        "",
        *_block([(i, r) for i, r in numbered if r.block == FAILS], ranking, names, link),
        "### How sure is the order?",
        "",
        "For each method and the next one down: the probability that it beats the next one on a "
        "random (dataset, seed), on the score above (ties count ½), with its "
        f"{res.confidence:.0%} interval; *separated* when the interval lies above 0.5.",
        "",
        "| methods | P(beats the next) | separated |",
        "|---|---|---|",
        *[_neighbour(n, ranking, names) for n in ranking.neighbours],
        "",
        "### Friedman test and critical difference",
        "",
        *_friedman(ranking, figure),
    ]

"""The reference study's numbers and every finding as data, decided in one place.

A :class:`Comparison` says "x exceeds y" for two operands, each a criterion of a cell
(dataset, variant, criterion) paired by training seed, or a constant; :func:`decide` applies
:func:`salcheck.science.stats.paired_test` to the values a results view gives. The properties, the
report and ``salcheck verdicts`` all call :func:`decide`, so they agree by construction.

- ``NAMED``: the poster's findings F1-F5, the claims its tables state (Noise raises c and c†,
  Smoothing raises c†, the heterogeneous benchmark, F2 for c and c†, Noise + L1 on
  heterogeneous), F7 and F8; each is a property in ``properties/``.
- ``A_CLOSE_TO_ONE``: "a is close to 1 for every variant": mean a above :data:`A_FLOOR`.
- ``SIGNS``: the poster's whole tables as signs: every variant against its dataset's default on
  each criterion, large against homogeneous, the coupling against both of its parts, on both
  datasets, each in the poster's direction (cells where the poster shows a tie have no sign).
  A sign whose two printed numbers lie within the poster's own rounding of each other
  (:func:`within_rounding`) is no claim of the poster: it is in ``ROUNDING_SIGNS``, not SIGNS.
- ``F2_CONTROL`` and ``F2_STEPS`` (:func:`f2_comparisons`): the large set against homogeneous
  trained for as many optimiser steps, and that control against homogeneous.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from salcheck.criteria import symbols
from salcheck.science.stats import NullRule, SeedsNeeded, Verdict, beyond_nulls, paired_test

CRITERIA_KEYS = ("a", "b", "c", "b_dagger", "c_dagger")
#: What tables print for each score (from the criteria's metadata).
SYMBOLS = symbols()

#: The poster's four tables: (dataset, variant) -> a, b, c, b†, c†, as printed.
POSTER_TEXT: dict[tuple[str, str], tuple[str, str, str, str, str]] = {
    ("homogeneous", "default"): ("0.95", "12.3", "5.3", "1.6", "4.2"),
    ("heterogeneous", "default"): ("1.00", "8.6", "5.1", "0.9", "4.6"),
    ("large", "default"): ("0.99", "102.5", "12.3", "12.9", "13.7"),
    ("homogeneous", "CropPad"): ("1.00", "20.60", "4.70", "2.00", "5.09"),
    ("homogeneous", "Erasing"): ("1.00", "19.55", "5.57", "1.79", "3.96"),
    ("homogeneous", "Noise"): ("1.00", "18.37", "9.08", "2.32", "5.48"),
    ("homogeneous", "Smoothing"): ("1.00", "10.36", "2.94", "1.13", "7.88"),
    ("homogeneous", "L1"): ("1.00", "11.00", "5.81", "3.09", "5.71"),
    ("homogeneous", "L1Norm"): ("1.00", "16.28", "10.03", "0.02", "13.16"),
    ("homogeneous", "SmoothL1"): ("0.80", "7.27", "3.00", "2.01", "6.13"),
    ("homogeneous", "MSENorm"): ("0.95", "12.25", "5.32", "1.59", "5.62"),
    ("heterogeneous", "CropPad"): ("1.00", "20.60", "5.75", "2.56", "7.29"),
    ("heterogeneous", "Erasing"): ("1.00", "13.72", "6.28", "1.99", "5.22"),
    ("heterogeneous", "Noise"): ("1.00", "17.28", "8.11", "2.34", "5.39"),
    ("heterogeneous", "Smoothing"): ("1.00", "12.11", "5.12", "1.87", "3.93"),
    ("heterogeneous", "L1"): ("1.00", "11.38", "4.44", "2.58", "5.89"),
    ("heterogeneous", "L1Norm"): ("1.00", "20.02", "9.82", "2.04", "11.93"),
    ("heterogeneous", "SmoothL1"): ("1.00", "8.23", "4.30", "1.51", "5.15"),
    ("heterogeneous", "MSENorm"): ("1.00", "10.23", "6.03", "2.20", "6.25"),
    ("homogeneous", "Noise+L1"): ("1.00", "6.91", "2.94", "4.05", "7.88"),
    ("heterogeneous", "Noise+L1"): ("1.00", "6.22", "2.95", "1.88", "4.23"),
}
POSTER: dict[tuple[str, str], tuple[float, ...]] = {
    cell: tuple(float(v) for v in values) for cell, values in POSTER_TEXT.items()
}

VARIANTS = ("CropPad", "Erasing", "Noise", "Smoothing", "L1", "L1Norm", "SmoothL1", "MSENorm")
#: The poster's tables as (title, cells) in its order.
POSTER_TABLES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Default training (no augmentation, CE)",
        [("homogeneous", "default"), ("heterogeneous", "default"), ("large", "default")],
    ),
    ("Benchmark on homogeneous", [("homogeneous", v) for v in VARIANTS]),
    ("Benchmark on heterogeneous", [("heterogeneous", v) for v in VARIANTS]),
    ("Coupling Noise + L1", [("homogeneous", "Noise+L1"), ("heterogeneous", "Noise+L1")]),
]

#: "a close to 1": the floor the mean of a must exceed (the poster's lowest a is 0.80).
A_FLOOR = 0.8
#: F6: random maps' mean b, c, b†, c† lie in this band; random features' |a| below the bound.
CALIBRATION_BAND = (0.9, 1.1)
CALIBRATION_A_BOUND = 0.05
#: F8 and the randomisation check: mean Spearman rho of |map| after full randomisation.
SPEARMAN_CEILING = 0.3

Cell = tuple[str, str, str]  # dataset, variant, criterion
Operand = Cell | float


@dataclass(frozen=True)
class Comparison:
    """Finding ``number``: operand x exceeds operand y per seed (log or difference scale)."""

    key: str
    number: int  # the finding (0: a sign of the poster's tables only)
    claim: str
    x: Operand
    y: Operand
    margin: float = 1.0  # x > margin * y on the log scale; x > y + margin on differences
    scale: str = "log"

    def cells(self) -> list[tuple[str, str]]:
        return [op[:2] for op in (self.x, self.y) if isinstance(op, tuple)]


Values = Callable[[str, str, str], list[float]]


def operands(c: Comparison, values: Values) -> tuple[list[float], list[float]]:
    """(x, y) per seed: each cell operand read from ``values``, each constant repeated."""
    xs = values(*c.x) if isinstance(c.x, tuple) else None
    ys = values(*c.y) if isinstance(c.y, tuple) else None
    n = len(xs if xs is not None else ys or [])
    xs = xs if xs is not None else [float(c.x)] * n  # type: ignore[arg-type]
    ys = ys if ys is not None else [float(c.y)] * n  # type: ignore[arg-type]
    return list(xs), list(ys)


def decide(c: Comparison, values: Values) -> Verdict:
    """Apply the decision rule to ``values(dataset, variant, criterion)`` (one per seed)."""
    xs, ys = operands(c, values)
    return paired_test(xs, ys, claim=c.claim, margin=c.margin, scale=c.scale)


def differences(c: Comparison, values: Values) -> list[float]:
    """The per-seed differences d_s the decision rule tests (log scale: log x - log y - log
    margin; difference scale: x - y - margin)."""
    xs, ys = operands(c, values)
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(x) - np.log(y) - math.log(c.margin) if c.scale == "log" else x - y - c.margin
    return d.tolist()


@dataclass(frozen=True)
class FindingVerdict:
    """A finding decided for a method and against the null maps on the same models.

    ``own``: the method's test; ``nulls_alone``: each null map's own test of the same claim
    (a null that replicates it shows the claim is the images', not the method's); ``rule``:
    the null rule (:func:`salcheck.science.stats.beyond_nulls`: the method's per-seed effect
    exceeds each null's); ``verdict``: the finding for the method, the intersection of its own
    test and the null rule (replicated when both replicate, contradicted when either is,
    undecidable when either is and neither contradicts, inconclusive otherwise).
    """

    own: Verdict
    nulls_alone: dict[str, Verdict]
    rule: NullRule | None
    verdict: Verdict


def decide_finding(c: Comparison, values: Values, nulls: Mapping[str, Values]) -> FindingVerdict:
    """Decide ``c`` for a method (``values``) and against each null map's ``values``."""
    own = decide(c, values)
    if not nulls:
        return FindingVerdict(own, {}, None, own)
    alone = {name: decide(c, v) for name, v in nulls.items()}
    rule = beyond_nulls(
        differences(c, values),
        {name: differences(c, v) for name, v in nulls.items()},
        claim=f"{c.claim}, beyond the null maps",
    )
    outcomes = (own.outcome, rule.outcome)
    if "contradicted" in outcomes:
        outcome = "contradicted"
    elif outcomes == ("replicated", "replicated"):
        outcome = "replicated"
    elif "undecidable" in outcomes:
        outcome = "undecidable"
    else:
        outcome = "inconclusive"
    reason = own.reason
    if outcome != own.outcome:
        missed = [n for n, v in rule.per_null.items() if not v.holds]
        reason = f"the null rule is {rule.outcome}: not beyond {', '.join(missed)}"
    power = deciding_power([own, *rule.per_null.values()])
    p_fwd, p_rev = intersection_union_p(own, rule)
    verdict = replace(
        own,
        outcome=outcome,
        reason=reason,
        power=power,
        p_forward=None if outcome == "undecidable" else p_fwd,
        p_reverse=None if outcome == "undecidable" else p_rev,
        test=IUT_TEST,
    )
    return FindingVerdict(own, alone, rule, verdict)


#: What a finding's p is the p of (:attr:`salcheck.science.stats.Verdict.test`).
IUT_TEST = (
    "the exact sign-flip test beyond the null maps (p: the intersection-union p of the own test "
    "and the null rule; the seeds, mean and effect are the method's own)"
)


def intersection_union_p(own: Verdict, rule: NullRule) -> tuple[float | None, float | None]:
    """(p_forward, p_reverse) of the finding that intersects the method's own test with the
    null rule. Forward, the claim needs every test (Berger 1982): p = max(p_own, p_null_1, ...),
    below alpha exactly when each is; a component whose p is undefined (undecidable) cannot
    support the claim and counts as 1. Reverse, the finding is contradicted when the own test is
    or any null beats the method at alpha / m (m nulls, Bonferroni): p = min(p_own,
    m * min_j p_null_j) over the components whose p is defined, capped at 1; None when none is.

    So a finding that the null rule alone holds back carries the null rule's p, and the gate,
    which reads the verdict's p, sees the drop.

    Examples:
        >>> from salcheck.science.stats import beyond_nulls, paired_test
        >>> own = paired_test([9, 8, 9, 9, 8, 9], [1] * 6, claim="x")
        >>> rule = beyond_nulls([8, 7, 8, 8, 7, 8], {"sobel": [7, 6, 9, 7, 6, 7]})
        >>> own.outcome, rule.outcome
        ('replicated', 'inconclusive')
        >>> own.p_forward, rule.per_null["sobel"].p_forward, intersection_union_p(own, rule)[0]
        (0.015625, 0.109375, 0.109375)
    """
    p_fwd = max(1.0 if t.p_forward is None else t.p_forward for t in (own, *rule.per_null.values()))
    nulls = [v.p_reverse for v in rule.per_null.values() if v.p_reverse is not None]
    reverse = [own.p_reverse] if own.p_reverse is not None else []
    reverse += [min(1.0, len(rule.per_null) * min(nulls))] if nulls else []
    return p_fwd, min(reverse) if reverse else None


def deciding_power(tests: Sequence[Verdict]) -> SeedsNeeded:
    """Seeds for 80% power of the test that decides a finding: the method's own test and the
    null rule's test against each null must all replicate (an intersection-union test), so it
    needs the most seeds any of them needs; a component whose need is not a number (no effect,
    an effect against the claim, beyond the search) decides the text.

    Examples:
        >>> from salcheck.science.stats import paired_test
        >>> strong = paired_test([9, 8, 9, 9, 8], [1, 1, 1, 1, 1], claim="x")
        >>> weak = paired_test([1.5, 0.9, 1.4, 1.2, 1.1], [1, 1, 1, 1, 1], claim="y")
        >>> deciding_power([strong, weak]) == weak.power != strong.power
        True
    """
    unknown = [t.power for t in tests if t.power.seeds is None]
    if unknown:
        return unknown[0]
    return max((t.power for t in tests), key=lambda p: p.seeds or 0)


def _scale(criterion: str) -> str:
    return "difference" if criterion == "a" else "log"


def _unit(criterion: str) -> float:
    return 0.0 if _scale(criterion) == "difference" else 1.0


def _directed(
    key: str,
    number: int,
    dataset: str,
    variant: str,
    crit: str,
    base: tuple[str, str] | None,
    higher: bool,
) -> Comparison:
    """``variant`` gives a higher (or lower) ``crit`` on ``dataset`` than ``base``
    (default: the dataset's default training)."""
    cell, ref = (dataset, variant, crit), (*(base or (dataset, "default")), crit)
    if base is None:
        claim = f"{variant} {'raises' if higher else 'lowers'} {SYMBOLS[crit]} on {dataset}"
    else:
        than = (
            ref[1] if ref[0] == dataset else ref[0] if ref[1] == "default" else f"{ref[1]} on {ref[0]}"
        )
        who = f"{variant} on {dataset}" if variant != "default" else dataset
        claim = f"{who} gives {'higher' if higher else 'lower'} {SYMBOLS[crit]} than {than}"
    x, y = (cell, ref) if higher else (ref, cell)
    return Comparison(key, number, claim, x, y, _unit(crit), _scale(crit))


def _raises(
    key: str, number: int, dataset: str, variant: str, crit: str, base: tuple[str, str] | None = None
) -> Comparison:
    return _directed(key, number, dataset, variant, crit, base, True)


def _lowers(
    key: str, number: int, dataset: str, variant: str, crit: str, base: tuple[str, str] | None = None
) -> Comparison:
    return _directed(key, number, dataset, variant, crit, base, False)


H, HET, L = "homogeneous", "heterogeneous", "large"


def _named() -> list[Comparison]:
    out = [
        Comparison(f"F1-{d}", 1, f"b > b† on {d}", (d, "default", "b"), (d, "default", "b_dagger"))
        for d in (H, HET)
    ]
    out += [
        Comparison(
            f"F2-{k}",
            2,
            f"{SYMBOLS[k]} on large > {SYMBOLS[k]} on homogeneous",
            (L, "default", k),
            (H, "default", k),
        )
        for k in ("b", "b_dagger", "c", "c_dagger")
    ]
    for d in (H, HET):
        out += [
            _raises(f"F3-{d}-{v}-{k}", 3, d, v, k)
            for v in ("Noise", "CropPad", "Erasing")
            for k in ("b", "b_dagger")
        ]
    out += [_raises(f"F3-{H}-Noise-{k}", 3, H, "Noise", k) for k in ("c", "c_dagger")]
    out.append(_raises(f"F3-{H}-Smoothing-c_dagger", 3, H, "Smoothing", "c_dagger"))
    for d in (H, HET):
        out += [_raises(f"F4-{d}-{k}", 4, d, "L1Norm", k) for k in ("c", "c_dagger")]
    out.append(
        Comparison(
            "F4-homogeneous-b_dagger",
            4,
            "L1Norm collapses b† on homogeneous (poster 0.02)",
            (H, "default", "b_dagger"),
            (H, "L1Norm", "b_dagger"),
        )
    )
    for d in (H, HET):
        out += [_lowers(f"F5-{d}-{s}", 5, d, "Noise+L1", "b", (d, s)) for s in ("Noise", "L1")]
    out.append(
        Comparison(
            "F7-b-twice-b_dagger",
            7,
            "b > 2 b† on homogeneous",
            (H, "default", "b"),
            (H, "default", "b_dagger"),
            margin=2.0,
        )
    )
    out += [
        Comparison(
            f"F8-{k}",
            8,
            f"|log {k}| falls when the model is randomised",
            (H, "default", f"abs_log_{k}"),
            (H, "default", f"abs_log_{k}_randomised"),
        )
        for k in ("b", "c")
    ]
    out.append(
        Comparison(
            "F8-spearman",
            8,
            f"Spearman rho of |map| after full randomisation < {SPEARMAN_CEILING}",
            SPEARMAN_CEILING,
            (H, "default", "spearman_randomised"),
            0.0,
            "difference",
        )
    )
    return out


NAMED: dict[str, Comparison] = {c.key: c for c in _named()}

A_CLOSE_TO_ONE: dict[str, Comparison] = {
    f"A-{d}-{v}": Comparison(
        f"A-{d}-{v}", 7, f"a > {A_FLOOR} for {v} on {d}", (d, v, "a"), A_FLOOR, 0.0, "difference"
    )
    for d, v in POSTER
}


def half_unit(text: str) -> Decimal:
    """Half a unit of the last printed digit: ``"12.3"`` -> 0.05, ``"20.60"`` -> 0.005."""
    exponent = Decimal(text).as_tuple().exponent
    return Decimal(5) * Decimal(10) ** (int(exponent) - 1)


def within_rounding(a: str, b: str) -> bool:
    """Whether two printed numbers may be equal: [a - h_a, a + h_a] and [b - h_b, b + h_b]
    overlap, h = :func:`half_unit` (exact decimal arithmetic on the printed strings).

    Examples:
        >>> within_rounding("12.25", "12.3"), within_rounding("12.20", "12.3")
        (True, False)
    """
    return abs(Decimal(a) - Decimal(b)) <= half_unit(a) + half_unit(b)


def _poster_text(op: Operand) -> str:
    dataset, variant, crit = op  # type: ignore[misc]
    return POSTER_TEXT[(dataset, variant)][CRITERIA_KEYS.index(crit)]


def sign_within_rounding(c: Comparison) -> bool:
    """Whether a sign's two poster numbers lie within the poster's printed rounding."""
    return within_rounding(_poster_text(c.x), _poster_text(c.y))


def _signs() -> list[Comparison]:
    out = []

    def sign(key: str, cell: tuple[str, str], base: tuple[str, str], crit: str, named: bool) -> None:
        i = CRITERIA_KEYS.index(crit)
        px, py = POSTER[cell][i], POSTER[base][i]
        if px == py:
            return  # a tie in the poster has no sign
        make = _raises if px > py else _lowers
        out.append(make(key, 0, cell[0], cell[1], crit, None if not named else base))

    for d in (H, HET):
        for v in (*VARIANTS, "Noise+L1"):
            for k in CRITERIA_KEYS:
                sign(f"S-{d}-{v}-{k}", (d, v), (d, "default"), k, False)
        for part in ("Noise", "L1"):
            for k in CRITERIA_KEYS:
                sign(f"S-{d}-Noise+L1-vs-{part}-{k}", (d, "Noise+L1"), (d, part), k, True)
    for k in CRITERIA_KEYS:
        sign(f"S-large-{k}", (L, "default"), (H, "default"), k, True)
    return out


#: The signs of the poster's tables that are claims: their two numbers differ beyond rounding.
SIGNS: dict[str, Comparison] = {c.key: c for c in _signs() if not sign_within_rounding(c)}
#: Signs inside the poster's own printed rounding: decided and listed apart, never counted.
ROUNDING_SIGNS: dict[str, Comparison] = {c.key: c for c in _signs() if sign_within_rounding(c)}


def f2_comparisons(
    steps_ratio: int | None = None,
) -> tuple[dict[str, Comparison], dict[str, Comparison]]:
    """(F2_CONTROL, F2_STEPS): large against the step-matched control, and that control
    against homogeneous. ``steps_ratio`` (a tier's ``steps_ratio()``) goes into the claims;
    None words them for every tier."""
    longer = (
        "trained as many optimiser steps as large"
        if steps_ratio is None
        else f"trained {steps_ratio}x the optimiser steps (as many as large)"
    )
    control = {
        f"F2-control-{k}": Comparison(
            f"F2-control-{k}",
            2,
            f"{SYMBOLS[k]} on large > on homogeneous {longer}",
            (L, "default", k),
            ("homogeneous-steps", "default", k),
            _unit(k),
            _scale(k),
        )
        for k in CRITERIA_KEYS
    }
    steps = {
        f"F2-steps-{k}": Comparison(
            f"F2-steps-{k}",
            2,
            f"{SYMBOLS[k]}: homogeneous {longer} > homogeneous",
            ("homogeneous-steps", "default", k),
            (H, "default", k),
            _unit(k),
            _scale(k),
        )
        for k in CRITERIA_KEYS
    }
    return control, steps


F2_CONTROL, F2_STEPS = f2_comparisons()

#: Every comparison by key: what ``salcheck verdicts`` records and the report prints.
ALL: dict[str, Comparison] = {
    **NAMED,
    **A_CLOSE_TO_ONE,
    **SIGNS,
    **ROUNDING_SIGNS,
    **F2_CONTROL,
    **F2_STEPS,
}

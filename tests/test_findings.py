import pytest

from salcheck.science.findings import (
    A_CLOSE_TO_ONE,
    ALL,
    CRITERIA_KEYS,
    F2_CONTROL,
    F2_STEPS,
    NAMED,
    POSTER,
    POSTER_TABLES,
    POSTER_TEXT,
    ROUNDING_SIGNS,
    SIGNS,
    Comparison,
    decide,
    f2_comparisons,
    half_unit,
    within_rounding,
)

#: The poster's four tables as it prints them (copied from the transcription of the poster,
#: shared/study/poster.md): a second, independent copy of POSTER_TEXT's strings.
POSTER_MARKDOWN = """
| homogeneous | 0.95 | 12.3 | 5.3 | 1.6 | 4.2 |
| heterogeneous | 1.00 | 8.6 | 5.1 | 0.9 | 4.6 |
| large | 0.99 | 102.5 | 12.3 | 12.9 | 13.7 |
| CropPad | 1.00 | 20.60 | 4.70 | 2.00 | 5.09 |
| Erasing | 1.00 | 19.55 | 5.57 | 1.79 | 3.96 |
| Noise | 1.00 | 18.37 | 9.08 | 2.32 | 5.48 |
| Smoothing | 1.00 | 10.36 | 2.94 | 1.13 | 7.88 |
| L1 | 1.00 | 11.00 | 5.81 | 3.09 | 5.71 |
| L1Norm | 1.00 | 16.28 | 10.03 | 0.02 | 13.16 |
| SmoothL1 | 0.80 | 7.27 | 3.00 | 2.01 | 6.13 |
| MSENorm | 0.95 | 12.25 | 5.32 | 1.59 | 5.62 |
| CropPad | 1.00 | 20.60 | 5.75 | 2.56 | 7.29 |
| Erasing | 1.00 | 13.72 | 6.28 | 1.99 | 5.22 |
| Noise | 1.00 | 17.28 | 8.11 | 2.34 | 5.39 |
| Smoothing | 1.00 | 12.11 | 5.12 | 1.87 | 3.93 |
| L1 | 1.00 | 11.38 | 4.44 | 2.58 | 5.89 |
| L1Norm | 1.00 | 20.02 | 9.82 | 2.04 | 11.93 |
| SmoothL1 | 1.00 | 8.23 | 4.30 | 1.51 | 5.15 |
| MSENorm | 1.00 | 10.23 | 6.03 | 2.20 | 6.25 |
| homogeneous | 1.00 | 6.91 | 2.94 | 4.05 | 7.88 |
| heterogeneous | 1.00 | 6.22 | 2.95 | 1.88 | 4.23 |
"""


def poster_value(op):
    dataset, variant, criterion = op
    return POSTER[(dataset, variant)][CRITERIA_KEYS.index(criterion)]


def test_every_sign_points_the_posters_way():
    for c in SIGNS.values():
        assert poster_value(c.x) > poster_value(c.y), c.key


def test_the_sign_table_covers_the_posters_tables():
    """Every non-tied criterion of every variant against its default, the coupling against
    both of its parts, and large against homogeneous, on both datasets; the signs inside the
    poster's rounding apart."""
    expected = 0
    for (d, v), values in POSTER.items():
        if d == "large":
            bases = [("homogeneous", "default")]
        elif v == "Noise+L1":
            bases = [(d, "default"), (d, "Noise"), (d, "L1")]
        else:
            bases = [] if v == "default" else [(d, "default")]
        for base in bases:
            expected += sum(a != b for a, b in zip(values, POSTER[base], strict=True))
    assert len(SIGNS) + len(ROUNDING_SIGNS) == expected == 101
    assert len(SIGNS) == 97


def test_signs_inside_the_posters_printed_rounding_are_apart():
    assert set(ROUNDING_SIGNS) == {
        "S-homogeneous-MSENorm-b",  # 12.25 vs 12.3
        "S-homogeneous-MSENorm-c",  # 5.32 vs 5.3
        "S-homogeneous-MSENorm-b_dagger",  # 1.59 vs 1.6
        "S-heterogeneous-Smoothing-c",  # 5.12 vs 5.1
    }
    assert not set(ROUNDING_SIGNS) & set(SIGNS) and set(ROUNDING_SIGNS) <= set(ALL)


@pytest.mark.parametrize(
    ("a", "b", "inside"),
    [
        ("12.25", "12.3", True),  # [12.245, 12.255] touches [12.25, 12.35]
        ("12.24", "12.3", False),
        ("1.0", "1.1", True),  # [0.95, 1.05] and [1.05, 1.15] touch: both may be 1.05
        ("1.0", "1.11", False),
        ("5.12", "5.1", True),
        ("1.00", "0.95", False),
        ("102.5", "102.55", True),
        ("0.02", "0.9", False),
    ],
)
def test_within_rounding_on_the_printed_digits(a, b, inside):
    assert within_rounding(a, b) is inside and within_rounding(b, a) is inside


def test_half_unit_of_the_last_printed_digit():
    assert [float(half_unit(t)) for t in ("12.3", "20.60", "102.5", "1")] == [0.05, 0.005, 0.05, 0.5]


def test_named_findings_follow_the_poster():
    for c in NAMED.values():
        if (
            isinstance(c.x, tuple)
            and isinstance(c.y, tuple)
            and c.margin == 1.0
            and c.x[2] in CRITERIA_KEYS
            and c.x[:2] in POSTER
            and c.y[:2] in POSTER
        ):
            assert poster_value(c.x) > poster_value(c.y), c.key
    assert {
        "F1-homogeneous",
        "F2-c_dagger",
        "F3-heterogeneous-CropPad-b_dagger",
        "F3-homogeneous-Smoothing-c_dagger",
        "F5-heterogeneous-Noise",
        "F8-spearman",
        "F4-heterogeneous-c",
    } <= set(NAMED)
    assert len(A_CLOSE_TO_ONE) == len(POSTER) == 21


def test_keys_are_unique_across_families():
    families = [NAMED, A_CLOSE_TO_ONE, SIGNS, ROUNDING_SIGNS, F2_CONTROL, F2_STEPS]
    keys = [key for family in families for key in family]
    collisions = sorted({k for k in keys if keys.count(k) > 1})
    assert not collisions, f"keys in two families: {collisions}"
    assert set(ALL) == set(keys) and len(ALL) == len(keys)
    assert all(c.key == key for key, c in ALL.items())


def test_poster_prints_its_own_digits():
    """POSTER_TEXT keeps the poster's digits as printed (20.60, not 20.6), cell for cell."""
    printed = [
        [cell.strip() for cell in line.strip("|").split("|")[1:]]
        for line in POSTER_MARKDOWN.strip().splitlines()
    ]
    cells = [cell for _, table in POSTER_TABLES for cell in table]
    assert len(cells) == len(printed) == len(POSTER_TEXT) == 21
    for cell, row in zip(cells, printed, strict=True):
        assert list(POSTER_TEXT[cell]) == row, cell
        assert POSTER[cell] == tuple(float(v) for v in row), cell


def test_f2_claims_name_the_tiers_steps_ratio():
    control, steps = f2_comparisons(20)
    assert (
        steps["F2-steps-b"].claim
        == "b: homogeneous trained 20x the optimiser steps (as many as large) > homogeneous"
    )
    assert all("20x" in c.claim for c in [*control.values(), *steps.values()])
    assert all("4x" in c.claim for c in f2_comparisons(4)[1].values())
    assert all("x the optimiser" not in c.claim for c in [*F2_CONTROL.values(), *F2_STEPS.values()])
    assert set(control) == set(F2_CONTROL) and control["F2-control-c"].x == F2_CONTROL["F2-control-c"].x


def test_decide_with_cells_and_constants():
    data = {
        ("h", "v", "b"): [4.0, 5.0, 6.0, 5.5, 4.5],
        ("h", "d", "b"): [1.0, 1.2, 0.9, 1.1, 1.0],
        ("h", "d", "rho"): [0.1, 0.05, 0.2, 0.1, 0.15],
    }
    values = lambda d, v, k: data[(d, v, k)]
    up = Comparison("k", 3, "v raises b", ("h", "v", "b"), ("h", "d", "b"))
    assert decide(up, values).outcome == "replicated"
    down = Comparison("k", 3, "v lowers b", ("h", "d", "b"), ("h", "v", "b"))
    assert decide(down, values).outcome == "contradicted"
    ceiling = Comparison("k", 8, "rho < 0.3", 0.3, ("h", "d", "rho"), 0.0, "difference")
    v = decide(ceiling, values)
    assert v.outcome == "replicated" and v.y == (0.1, 0.05, 0.2, 0.1, 0.15) and v.x == (0.3,) * 5
    with pytest.raises(KeyError):
        decide(Comparison("k", 0, "missing", ("h", "x", "b"), 1.0), values)


def _blocked_by_a_null():
    """F1-like: the method's own test replicates on 10 seeds; Sobel nearly matches it, so the
    null rule alone holds the finding back."""
    from salcheck.science.findings import decide_finding

    c = Comparison("k", 1, "b > b†", ("h", "d", "b"), ("h", "d", "bd"))
    method = {"b": [3.0] * 10, "bd": [1.0] * 10}
    sobel = {"b": [3.0, 3.1, 2.9, 3.05, 2.95, 3.0, 2.9, 3.1, 2.95, 2.9], "bd": [1.0] * 10}
    return c, decide_finding(c, lambda d, v, k: method[k], {"sobel": lambda d, v, k: sobel[k]})


def test_the_findings_p_is_the_intersection_union_p():
    """A replication the null rule alone loses shows in the verdict's p (the largest
    component's), not only in its outcome; the reverse p is the union's (own, or m x a null's)."""
    _, f = _blocked_by_a_null()
    null = f.rule.per_null["sobel"]
    assert (f.own.outcome, f.rule.outcome, f.verdict.outcome) == (
        "replicated",
        "inconclusive",
        "inconclusive",
    )
    assert f.own.p_forward < 0.05 <= null.p_forward
    assert f.verdict.p_forward == max(f.own.p_forward, null.p_forward) == null.p_forward
    assert f.verdict.p_reverse == min(f.own.p_reverse, null.p_reverse)
    assert (f.verdict.k, f.verdict.mean) == (f.own.k, f.own.mean)  # the method's own effect


def test_the_gate_fails_a_replication_the_null_rule_alone_loses():
    """Recorded replicated; now the own test still replicates at p 1/1024 but a null catches up:
    the gate reads the finding's p and fails it."""
    from salcheck.science.verdicts import gate

    _, f = _blocked_by_a_null()
    recorded = {"outcome": "replicated", "p_forward": 0.001, "seeds": list(range(10)), "gate_alpha": 0.2}
    result = gate(recorded, f.verdict, seeds=list(range(10)), own=f.own)
    assert result.status == "fail", result.message
    assert f.own.p_forward <= 0.2  # the own p alone would have passed it


def test_the_reverse_p_is_bonferronis_over_the_nulls_and_undefined_components_are_skipped():
    """Two nulls, one beating the method on every seed: the finding is contradicted with reverse
    p = 2 x that null's (Bonferroni over m = 2) and forward p 1 - ...; a third, undecidable null
    (a zero under the log) leaves both p's defined, and the contradicted verdict keeps them."""
    from salcheck.science.findings import decide_finding

    c = Comparison("k", 1, "b > b†", ("h", "d", "b"), ("h", "d", "bd"))
    ones = [1.0] * 6
    method = {"b": [1.2, 1.1, 1.3, 1.2, 1.25, 1.15], "bd": ones}
    strong = {"b": [3.0] * 6, "bd": ones}
    flat = {"b": [1.2, 1.1, 1.0, 1.3, 1.0, 1.2], "bd": ones}
    broken = {"b": [0.0, 1.0, 1.0, 1.0, 1.0, 1.0], "bd": ones}
    read = lambda data: lambda d, v, k: data[k]
    two = decide_finding(c, read(method), {"strong": read(strong), "flat": read(flat)})
    beaten = two.rule.per_null["strong"]
    assert two.verdict.outcome == "contradicted" and beaten.p_reverse == 1 / 64
    assert two.verdict.p_reverse == min(two.own.p_reverse, 2 * beaten.p_reverse) == 2 / 64
    assert two.verdict.p_forward == max(
        two.own.p_forward, beaten.p_forward, two.rule.per_null["flat"].p_forward
    )
    three = decide_finding(c, read(method), {"strong": read(strong), "broken": read(broken)})
    assert three.rule.per_null["broken"].outcome == "undecidable"
    assert three.verdict.outcome == "contradicted"
    assert three.verdict.p_forward == 1.0  # the undefined component cannot support the claim
    assert three.verdict.p_reverse == 2 / 64  # m counts every null, defined or not
    assert "intersection-union" in three.verdict.message()

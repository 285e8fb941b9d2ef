import pytest

from salcheck.science.findings import (
    A_CLOSE_TO_ONE,
    ALL,
    CRITERIA_KEYS,
    NAMED,
    POSTER,
    POSTER_TEXT,
    SIGNS,
    Comparison,
    decide,
)


def poster_value(op):
    dataset, variant, criterion = op
    return POSTER[(dataset, variant)][CRITERIA_KEYS.index(criterion)]


def test_every_sign_points_the_posters_way():
    for c in SIGNS.values():
        assert poster_value(c.x) > poster_value(c.y), c.key


def test_the_sign_table_covers_the_posters_tables():
    """Every non-tied criterion of every variant against its default, the coupling against
    both of its parts, and large against homogeneous, on both datasets."""
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
    assert len(SIGNS) == expected == 101


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
    families = [NAMED, A_CLOSE_TO_ONE, SIGNS]
    assert sum(map(len, families)) <= len(ALL)


def test_poster_prints_its_own_digits():
    assert POSTER_TEXT[("homogeneous", "CropPad")][1] == "20.60"
    assert POSTER[("homogeneous", "CropPad")][1] == 20.6


def test_decide_with_cells_and_constants():
    data = {
        ("h", "v", "b"): [4.0, 5.0, 6.0],
        ("h", "d", "b"): [1.0, 1.2, 0.9],
        ("h", "d", "rho"): [0.1, 0.05, 0.2],
    }
    values = lambda d, v, k: data[(d, v, k)]
    up = Comparison("k", 3, "v raises b", ("h", "v", "b"), ("h", "d", "b"))
    assert decide(up, values).outcome == "replicated"
    down = Comparison("k", 3, "v lowers b", ("h", "d", "b"), ("h", "v", "b"))
    assert decide(down, values).outcome == "contradicted"
    ceiling = Comparison("k", 8, "rho < 0.3", 0.3, ("h", "d", "rho"), 0.0, "difference")
    v = decide(ceiling, values)
    assert v.outcome == "replicated" and v.y == (0.1, 0.05, 0.2) and v.x == (0.3, 0.3, 0.3)
    with pytest.raises(KeyError):
        decide(Comparison("k", 0, "missing", ("h", "x", "b"), 1.0), values)

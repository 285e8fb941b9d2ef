"""Identical methods share one row of the ranking, ties are never ordered by name, and the
ranking's text never prints ``nan`` (on given numbers; no training)."""

import math

import numpy as np
import pytest

from salcheck.errors import InvalidArgument
from salcheck.report.ranking_section import ranking_section
from salcheck.science.ranking import (
    PASSES,
    Neighbours,
    Ranking,
    Row,
    identical_methods,
    log_ratio_to_best_null,
    rank,
)
from salcheck.science.ranking_stats import Friedman, Interval, Resampling

DATASETS = ("homogeneous", "heterogeneous", "large")
CRITERIA = ("b", "c", "b_dagger", "c_dagger")
FAST = Resampling(seed=0, n_resamples=999)


def _method(level, seed, seeds=5):
    rng = np.random.default_rng(seed)
    return {
        d: {k: np.exp(level + 0.1 * rng.normal(size=seeds)).tolist() for k in CRITERIA} for d in DATASETS
    }


def _nulls(seeds=5):
    return {"random": {d: {k: [1.0] * seeds for k in CRITERIA} for d in DATASETS}}


def _copy(values):
    return {d: {k: list(v) for k, v in c.items()} for d, c in values.items()}


def test_identical_methods_share_one_row_and_count_once():
    grad = _method(1.0, seed=1)
    scores = {"zeta-grad": grad, "ig": _method(1.5, seed=2), "alpha-gbp": _copy(grad)}
    r = rank(scores, _nulls(), {}, resampling=FAST)
    assert [row.members for row in r.rows] == [("ig",), ("zeta-grad", "alpha-gbp")]
    assert [row.method for row in r.rows] == ["ig", "zeta-grad"]  # a row's key: its first member
    # Ranks over two rows, not three: the group counts once.
    assert r.friedman is None  # fewer than 3 rows
    assert sorted(row.mean_rank for row in r.rows) == [1.0, 2.0]
    (n,) = r.neighbours
    assert (n.better, n.worse) == ("ig", "zeta-grad")
    assert r.places() == ("1", "2")


def test_a_shared_row_counts_once_in_the_friedman_test():
    grad = _method(1.0, seed=1)
    scores = {
        "vanilla": grad,
        "gbp-captum": _copy(grad),
        "deconv-captum": _copy(grad),
        "ig": _method(1.5, seed=2),
        "edges": _method(0.5, seed=3),
    }
    r = rank(scores, _nulls(), {}, resampling=FAST)
    assert r.friedman is not None and r.friedman.k == 3
    assert set(r.friedman.mean_ranks) == {"vanilla", "ig", "edges"}
    assert sum(r.friedman.mean_ranks.values()) == pytest.approx(3 * 4 / 2)
    assert [row.members for row in r.rows] == [
        ("ig",),
        ("vanilla", "gbp-captum", "deconv-captum"),
        ("edges",),
    ]
    assert len(r.neighbours) == 2


def test_members_keep_the_order_asked_for_never_the_names_order():
    grad = _method(1.0, seed=1)
    for order in (("b", "a", "c"), ("c", "b", "a"), ("a", "c", "b")):
        scores = {m: _copy(grad) for m in order}
        (row,) = rank(scores, _nulls(), {}, resampling=FAST).rows
        assert row.members == order


def test_scores_that_differ_in_one_digit_are_not_identical():
    grad = _method(1.0, seed=1)
    other = _copy(grad)
    other["large"]["c_dagger"][4] = np.nextafter(other["large"]["c_dagger"][4], np.inf)
    r = rank({"grad": grad, "near": other}, _nulls(), {}, resampling=FAST)
    assert sorted(row.members for row in r.rows) == [("grad",), ("near",)]


def test_identical_scores_that_fail_other_checks_stay_apart():
    grad = _method(1.0, seed=1)
    scores = {"grad": grad, "copy": _copy(grad)}
    r = rank(scores, _nulls(), {"copy": {"randomisation": False}}, resampling=FAST)
    assert [(row.members, row.block) for row in r.rows] == [(("grad",), PASSES), (("copy",), "fails")]
    rel = log_ratio_to_best_null(scores, _nulls(), CRITERIA)
    assert identical_methods(rel) == (("grad", "copy"),)
    assert identical_methods(rel, {"copy": {"randomisation": False}}) == (("grad",), ("copy",))


def _swapped(seeds=(1.0, 2.0)):
    """Two methods with the same scores on each dataset, swapped between the two seeds: equal
    estimates and equal mean ranks, yet not identical (each wins one unit per dataset)."""
    a = {d: {k: [math.exp(x) for x in seeds] for k in CRITERIA} for d in DATASETS}
    b = {d: {k: [math.exp(x) for x in reversed(seeds)] for k in CRITERIA} for d in DATASETS}
    return a, b


def test_a_remaining_tie_keeps_the_order_asked_for_and_is_printed_as_tied():
    a, b = _swapped()
    nulls = _nulls(seeds=2)
    for order in (("zz", "aa"), ("aa", "zz")):
        scores = dict(zip(order, (a, b), strict=True))
        r = rank(scores, nulls, {}, resampling=FAST)
        first, second = r.rows
        assert (first.members, second.members) == ((order[0],), (order[1],))
        assert first.score.estimate == second.score.estimate
        assert first.mean_rank == second.mean_rank == 1.5
        assert r.places() == ("1=", "1=")
        text = "\n".join(ranking_section(r))
        assert f"| 1= | {order[0]} |" in text and f"| 1= | {order[1]} |" in text


def test_the_section_lists_every_member_of_a_shared_row():
    grad = _method(1.0, seed=1)
    scores = {"vanilla": grad, "gbp": _copy(grad), "ig": _method(1.5, seed=2)}
    r = rank(scores, _nulls(), {}, resampling=FAST)
    names = {"vanilla": "Vanilla gradient", "gbp": "GuidedBackprop (captum)", "ig": "IG"}
    text = "\n".join(ranking_section(r, names=names, link=lambda m: f"cards/{m}.md"))
    assert (
        "| 2 | [Vanilla gradient](cards/vanilla.md) = [GuidedBackprop (captum)](cards/gbp.md) |" in text
    )
    assert "| IG › Vanilla gradient = GuidedBackprop (captum) |" in text


def test_a_row_carries_its_members():
    ci = Interval(0.5, 0.4, 0.6)
    assert Row("m", PASSES, ci, {}, 1.0, ()).members == ("m",)
    assert Row("m", PASSES, ci, {}, 1.0, (), ("m", "n")).members == ("m", "n")
    with pytest.raises(InvalidArgument, match="first member is its method"):
        Row("m", PASSES, ci, {}, 1.0, (), ("n", "m"))


def test_no_nan_is_printed_for_undefined_numbers():
    nan = Interval(math.nan, math.nan, math.nan)
    no_bounds = Interval(0.3, math.nan, math.nan)
    rows = (
        Row("a", PASSES, nan, {"b": nan, "c": no_bounds}, math.nan, (), ("a", "b")),
        Row("c", "fails", no_bounds, {"b": no_bounds, "c": nan}, 2.0, ("beats_nulls(b)",)),
        Row("d", PASSES, Interval(0.1, 0.0, 0.2), {"b": nan, "c": nan}, 3.0, ()),
    )
    friedman = Friedman({"a": math.nan, "c": 2.0, "d": 3.0}, 4, *[math.nan] * 4, 0.05, 1.2, ())
    r = Ranking(
        rows,
        (Neighbours("a", "d", nan), Neighbours("d", "c", no_bounds, across_blocks=True)),
        friedman,
        {},
        ("b", "c"),
        "iqm",
        FAST,
        {"homogeneous": 2, "large": 2},
    )
    text = "\n".join(ranking_section(r, figure="cd.png"))
    assert "nan" not in text.lower()
    assert "undefined (a method or a null scored 0" in text
    assert "[interval undefined: the bootstrap gave no bounds]" in text
    assert "| undefined (not ranked against the other rows) |" in text
    assert "χ²_F = undefined (" in text
    assert nan.format(undefined="a null scored 0") == "undefined (a null scored 0)"

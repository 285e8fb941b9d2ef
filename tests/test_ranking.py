"""The method ranking against the nulls: sanity first, intervals, neighbours, Friedman and CD."""

import doctest
import math

import numpy as np
import pytest

import salcheck.science.ranking as ranking
import salcheck.science.ranking_stats as ranking_stats
from salcheck.errors import InvalidArgument
from salcheck.report.figures import critical_difference_figure
from salcheck.report.ranking_section import ranking_section
from salcheck.science.ranking import (
    FAILS,
    PASSES,
    log_ratio_to_best_null,
    probability_of_beating,
    rank,
)
from salcheck.science.ranking_stats import (
    Resampling,
    cliques,
    critical_difference,
    friedman_nemenyi,
    stratified_interval,
)

DATASETS = ("homogeneous", "heterogeneous", "large")
CRITERIA = ("b", "c", "b_dagger", "c_dagger")
FAST = Resampling(seed=0, n_resamples=999)


def _method(level, rng, noise=0.1, seeds=5):
    """dataset -> criterion -> per-seed exp(level + noise): ``level`` above a null at 1."""
    return {
        d: {k: np.exp(level + noise * rng.normal(size=seeds)).tolist() for k in CRITERIA}
        for d in DATASETS
    }


def _nulls(seeds=5):
    flat = {d: {k: [1.0] * seeds for k in CRITERIA} for d in DATASETS}
    edges = {d: {k: [1.2] * seeds for k in CRITERIA} for d in DATASETS}
    return {"random": flat, "edges": edges}


def _scores(levels, seed=0):
    rng = np.random.default_rng(seed)
    return {m: _method(level, rng) for m, level in levels.items()}


# --- scores against the nulls ---------------------------------------------------------------------


def test_log_ratio_divides_by_the_null_with_the_best_mean_seed_by_seed():
    scores = {"grad": {"d": {"b": [6.0, 3.0]}}}
    nulls = {
        "steady": {"d": {"b": [2.0, 2.0]}},  # mean 2
        "noisy": {"d": {"b": [3.0, 0.5]}},  # best on seed 0, worse on average (1.75)
    }
    rel = log_ratio_to_best_null(scores, nulls, ("b",))
    assert rel.best == {("d", "b"): "steady"}
    np.testing.assert_allclose(rel.ratios["grad"]["d"]["b"], np.log([3.0, 1.5]))


def test_log_ratio_is_paired_by_seed():
    nulls = {"untrained": {"d": {"b": [1.0, 2.0, 4.0]}}}
    rel = log_ratio_to_best_null({"m": {"d": {"b": [2.0, 4.0, 8.0]}}}, nulls, ("b",))
    np.testing.assert_allclose(rel.ratios["m"]["d"]["b"], np.log(2.0))


@pytest.mark.parametrize(
    ("scores", "nulls", "match"),
    [
        ({"m": {"d": {"b": [0.0, 2.0]}}}, None, r"finite values > 0, got np.float64\(0.0\)"),
        ({"m": {"d": {"b": [np.nan, 2.0]}}}, None, "finite values > 0, got"),
        ({"m": {"d": {"b": [1.0, 2.0, 3.0]}}}, None, "has 2 values; expected 3, one per seed"),
        ({"m": {"d": {"c": [1.0, 2.0]}}}, None, "has no criterion 'b'"),
        (
            {"m": {"e": {"b": [1.0, 2.0]}}},
            None,
            r"datasets \['d'\]; every method and null needs \['e'\]",
        ),
        ({"m": {"d": {"b": [1.0]}}}, None, "at least 2 seeds per dataset"),
        ({}, None, "at least one method"),
        ({"m": {"d": {"b": [1.0, 2.0]}}}, {}, "at least one null map"),
        ({"null": {"d": {"b": [1.0, 2.0]}}}, None, "both as methods and as null maps"),
    ],
)
def test_bad_scores_are_named(scores, nulls, match):
    nulls = {"null": {"d": {"b": [1.0, 2.0]}}} if nulls is None else nulls
    with pytest.raises(InvalidArgument, match=match):
        log_ratio_to_best_null(scores, nulls, ("b",))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"aggregate": "mean"}, "unknown aggregate 'mean'; accepted: iqm, median"),
        ({"checks": {"ghost": {"x": True}}}, r"checks given for \['ghost'\]"),
        ({"criteria": ()}, "at least one criterion"),
    ],
)
def test_bad_ranking_options_are_named(kwargs, match):
    args = {"checks": {}, **kwargs}
    with pytest.raises(InvalidArgument, match=match):
        rank(_scores({"a": 1.0}), _nulls(), resampling=FAST, **args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "bca"}, "unknown interval method 'bca'; accepted: percentile, basic, BCa"),
        ({"confidence": 1.0}, r"confidence must lie in \(0, 1\), got confidence=1.0"),
        ({"n_resamples": 10}, "n_resamples must be >= 100, got n_resamples=10"),
    ],
)
def test_bad_resampling_is_named(kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        Resampling(**kwargs)


# --- sanity first -----------------------------------------------------------------------------------


def test_a_method_that_fails_a_check_ranks_below_every_method_that_passes():
    scores = _scores({"cheat": 3.0, "good": 1.5, "fair": 1.0, "weak": 0.7})
    checks = {m: {"randomisation_sensitivity": m != "cheat"} for m in scores}
    r = rank(scores, _nulls(), checks, resampling=FAST)
    order = [row.method for row in r.rows]
    assert order == ["good", "fair", "weak", "cheat"]
    cheat = r.rows[-1]
    assert (cheat.block, cheat.failed) == (FAILS, ("randomisation_sensitivity",))
    assert all(row.block == PASSES for row in r.rows[:-1])
    assert cheat.score.estimate > max(row.score.estimate for row in r.rows[:-1])
    assert cheat.mean_rank == 1.0  # best on every unit, yet ranked last
    assert [n.across_blocks for n in r.neighbours] == [False, False, True]


def test_a_method_below_the_best_null_fails_beats_nulls():
    scores = _scores({"good": 1.0, "chance": -0.3})  # exp(-0.3) < 1.2, the edges null
    r = rank(scores, _nulls(), {}, resampling=FAST)
    assert [row.method for row in r.rows] == ["good", "chance"]
    assert r.rows[1].failed == ("beats_nulls(b)", "beats_nulls(c)")
    assert r.rows[0].failed == ()
    assert r.best_nulls[("large", "b")] == "edges"


def test_beating_the_nulls_on_average_but_not_beyond_the_seeds_fails():
    rng = np.random.default_rng(2)
    marginal = _method(math.log(1.2) + 0.03, rng, noise=0.4)  # the edges null is 1.2
    r = rank({"good": _method(1.0, rng), "marginal": marginal}, _nulls(), {}, resampling=FAST)
    row = r.rows[1]
    assert row.method == "marginal" and row.criteria["b"].low < 0 < row.criteria["b"].high
    assert "beats_nulls(b)" in row.failed


def test_one_diverged_seed_barely_moves_the_aggregate():
    scores = _scores({"m": 1.0})
    scores["m"]["large"]["b"][0] = math.exp(20.0)  # one seed, one criterion, far out
    (row,) = rank(scores, _nulls(), {}, resampling=FAST).rows
    assert row.criteria["b"].estimate == pytest.approx(1.0 - math.log(1.2), abs=0.1)
    assert row.score.estimate == pytest.approx(1.0 - math.log(1.2), abs=0.1)


def test_passing_methods_rank_first_whatever_the_input_order():
    scores = _scores({"x": 2.0, "y": 1.5, "z": 1.0, "w": 0.5}, seed=3)
    failing = {"x", "z"}
    checks = {m: {"beats_chance": m not in failing} for m in scores}
    for order in (list(scores), list(reversed(scores))):
        r = rank({m: scores[m] for m in order}, _nulls(), checks, resampling=FAST)
        blocks = [row.block for row in r.rows]
        assert blocks == sorted(blocks, key=lambda b: b != PASSES)
        assert [row.method for row in r.rows] == ["y", "w", "x", "z"]


# --- intervals ---------------------------------------------------------------------------------------


def _planted(names=("upper", "lower"), shift=0.5):
    """Two methods paired by seed; the second's values are the first's times exp(-shift)."""
    base = _method(1.0, np.random.default_rng(5), noise=0.3)
    lower = {
        d: {k: (np.array(v) * math.exp(-shift)).tolist() for k, v in c.items()} for d, c in base.items()
    }
    return {names[0]: base, names[1]: lower}


def test_the_intervals_catch_a_planted_inversion():
    r = rank(_planted(), _nulls(), {}, resampling=FAST)
    upper, lower = r.rows
    assert (upper.method, lower.method) == ("upper", "lower")
    assert upper.score.excludes(lower.score.estimate)
    assert lower.score.excludes(upper.score.estimate)
    assert upper.score.estimate - lower.score.estimate == pytest.approx(0.5)
    for k in CRITERIA:
        assert upper.criteria[k].excludes(lower.criteria[k].estimate)
    (n,) = r.neighbours
    assert (n.better, n.worse, n.probability.estimate, n.separated) == ("upper", "lower", 1.0, True)


def test_swapping_the_labels_flips_the_ranking():
    r = rank(_planted(("lower", "upper"), shift=-0.5), _nulls(), {}, resampling=FAST)
    assert [row.method for row in r.rows] == ["upper", "lower"]
    swapped = rank(_planted(("upper", "lower"), shift=-0.5), _nulls(), {}, resampling=FAST)
    assert [row.method for row in swapped.rows] == ["lower", "upper"]


def test_two_methods_from_one_distribution_are_not_separated():
    r = rank(_scores({"a": 1.0, "b": 1.0}, seed=11), _nulls(), {}, resampling=FAST)
    a, b = r.rows
    assert not a.score.excludes(b.score.estimate)
    (n,) = r.neighbours
    assert n.probability.low <= 0.5 <= n.probability.high
    assert not n.separated


def test_every_aggregate_has_an_interval_around_it():
    r = rank(_scores({"a": 1.0, "b": 0.9, "c": 0.8}), _nulls(), {}, resampling=FAST)
    aggregates = [row.score for row in r.rows] + [i for row in r.rows for i in row.criteria.values()]
    assert len(aggregates) == 3 + 3 * 4
    assert all(i.low < i.estimate < i.high for i in aggregates)
    assert all(n.probability.low <= n.probability.estimate <= n.probability.high for n in r.neighbours)
    assert any(n.probability.low < n.probability.high for n in r.neighbours)


def test_the_bootstrap_resamples_within_each_dataset():
    # Constant within each dataset, different between: stratified resamples always hold five of
    # each, so the mean never moves; a pooled bootstrap would move it.
    strata = {"d1": [0.0] * 5, "d2": [10.0] * 5}
    ci = stratified_interval(strata, ranking_stats.mean, seed=0, n_resamples=999)
    assert (ci.low, ci.estimate, ci.high) == (5.0, 5.0, 5.0)


def test_intervals_are_reproducible_from_their_seed():
    strata = {"d": np.random.default_rng(0).normal(size=5), "e": np.arange(5.0)}
    one = stratified_interval(strata, seed=1, n_resamples=999)
    assert one == stratified_interval(strata, seed=1, n_resamples=999)
    assert one != stratified_interval(strata, seed=2, n_resamples=999)


def test_each_interval_draws_from_its_own_generator():
    res = Resampling(seed=3)
    assert res.options("a", "b")["seed"] == res.options("a", "b")["seed"]
    assert len({res.options(*key)["seed"] for key in (("a", "b"), ("a", "c"), ("b", "a"))}) == 3
    assert res.options("a")["seed"] != Resampling(seed=4).options("a")["seed"]


def test_adding_a_method_leaves_the_others_intervals_alone():
    scores = _scores({"a": 1.0, "b": 0.5})
    before = rank(scores, _nulls(), {}, resampling=FAST).rows
    after = rank({**scores, **_scores({"c": 0.7}, seed=9)}, _nulls(), {}, resampling=FAST).rows
    assert {r.method: r.score for r in before} == {r.method: r.score for r in after if r.method != "c"}


def test_probability_of_beating_counts_ties_as_half():
    p = probability_of_beating({"d": [1.0, 2.0, 3.0, 4.0]}, {"d": [1.0, 1.0, 5.0, 0.0]}, seed=0)
    assert p.estimate == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    with pytest.raises(InvalidArgument, match="on d, A has 2 units and B 3"):
        probability_of_beating({"d": [1.0, 2.0]}, {"d": [1.0, 2.0, 3.0]}, seed=0)


# --- Friedman and the critical difference -------------------------------------------------------------


def test_friedman_finds_a_planted_difference_and_not_noise():
    rng = np.random.default_rng(0)
    planted = {f"m{j}": j + 0.3 * rng.normal(size=15) for j in range(4)}
    f = friedman_nemenyi(planted)
    assert f.p_value < 1e-6 and f.p_iman_davenport < f.p_value
    assert list(f.mean_ranks) == ["m0", "m1", "m2", "m3"]
    noise = {f"m{j}": rng.normal(size=15) for j in range(4)}
    assert friedman_nemenyi(noise).p_value > 0.05


def test_friedman_statistic_is_demsars_formula_on_the_mean_ranks():
    rng = np.random.default_rng(1)
    values = {f"m{j}": 0.2 * j + rng.normal(size=12) for j in range(5)}
    f = friedman_nemenyi(values)
    k, N = 5, 12
    R = np.array(list(f.mean_ranks.values()))
    chi2 = 12 * N / (k * (k + 1)) * (np.sum(R**2) - k * (k + 1) ** 2 / 4)
    assert f.statistic == pytest.approx(chi2)
    assert f.iman_davenport == pytest.approx((N - 1) * chi2 / (N * (k - 1) - chi2))


#: Demšar (2006), table 5(a): Nemenyi q_alpha for k = 2..10 classifiers.
DEMSAR_Q = {
    0.05: (1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164),
    0.10: (1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920),
}


@pytest.mark.parametrize("alpha", sorted(DEMSAR_Q))
def test_critical_difference_matches_demsars_table(alpha):
    for k, q in enumerate(DEMSAR_Q[alpha], start=2):
        assert critical_difference(k, 6, alpha) / math.sqrt(k * (k + 1) / 36) == pytest.approx(
            q, abs=2e-3
        )
    assert critical_difference(4, 14) == pytest.approx(1.25, abs=5e-3)  # Demšar's worked example


def test_cliques_join_methods_closer_than_the_critical_difference():
    ranks = {"a": 1.0, "b": 1.4, "c": 2.0, "d": 3.5, "e": 3.9}
    assert cliques(ranks, 1.1) == (("a", "b", "c"), ("d", "e"))
    assert cliques(ranks, 0.1) == ()
    assert cliques(ranks, 10) == (("a", "b", "c", "d", "e"),)


def test_friedman_needs_three_methods():
    with pytest.raises(InvalidArgument, match="need >= 3 methods"):
        friedman_nemenyi({"a": [1.0, 2.0], "b": [2.0, 1.0]})
    assert rank(_scores({"a": 1.0, "b": 0.5}), _nulls(), {}, resampling=FAST).friedman is None


# --- the figure and the page section ------------------------------------------------------------------


def test_the_critical_difference_figure_is_written(tmp_path):
    r = rank(
        _scores({"a": 2.0, "b": 1.0, "c": 0.5, "d": 0.4}),
        _nulls(),
        {"a": {"rand": False}},
        resampling=FAST,
    )
    f = r.friedman
    path = tmp_path / "ranking" / "cd.png"
    critical_difference_figure(
        path, f.mean_ranks, f.cd, cliques=f.cliques, failed={"a": ("rand",)}, names={"a": "Method A"}
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert [p.name for p in path.parent.iterdir()] == ["cd.png"]  # no temporary left behind


def test_the_section_shows_both_blocks_intervals_and_the_figure():
    scores = _scores({"cheat": 3.0, "good": 1.0, "fair": 0.5})
    r = rank(scores, _nulls(), {"cheat": {"check_randomisation_sensitivity": False}}, resampling=FAST)
    text = "\n".join(
        ranking_section(r, names={"good": "Good map"}, link=lambda m: f"cards/{m}.md", figure="cd.png")
    )
    passing, failing = text.split("### Methods that fail a sanity check")
    assert "| 1 | [Good map](cards/good.md) |" in passing and "cheat" not in passing.split("###")[1]
    assert "| 3 | [cheat](cards/cheat.md) | randomisation sensitivity |" in failing
    assert "![Critical-difference diagram of the methods' mean ranks](cd.png)" in text
    assert "Good map › fair | 1.00 [1.00, 1.00] | yes |" in text
    assert "fair › cheat | 0.00 [0.00, 0.00] | sanity boundary" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 3 and all(line.count("[") - line.count("](") == 5 for line in rows)


@pytest.mark.parametrize("module", [ranking, ranking_stats])
def test_the_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0

"""The dose-response statistics on planted curves: crossovers, trends, collapse of routes."""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import salcheck.science.dose as dose
import salcheck.science.dose_crossover as dose_crossover
from salcheck.errors import InvalidArgument
from salcheck.report.figures import dose_figure
from salcheck.science.dose import route_differences, routes_collapse, trend_test
from salcheck.science.dose_crossover import crossover, dose_curve, exceedance_at

GRID = 25 * 2.0 ** np.arange(7)  # 25 ... 1600 atypical images, doubling


def planted(rng, n=GRID, *, nstar=150.0, slope=0.7, seeds=5, sd_seed=0.2, sd=0.3, offset=0.0):
    """b† = null * exp(slope (log n - log n*) + offset + u_s + e_sp): crosses the null (1) at n*."""
    n = np.asarray(n, float)
    mu = slope * (np.log(n) - math.log(nstar)) + offset
    noise = rng.normal(0, sd_seed, (seeds, 1)) + rng.normal(0, sd, (seeds, len(n)))
    return np.exp(mu + noise)


# ---- crossover ------------------------------------------------------------------------------


def test_noise_free_crossing_is_exact_between_grid_points():
    x = crossover(dose_curve("size", GRID, planted(np.random.default_rng(0), sd_seed=0, sd=0), 1.0))
    assert x.estimate == pytest.approx(150.0, rel=1e-9)
    assert x.censored is None and x.low == pytest.approx(150.0) and x.high == pytest.approx(150.0)


def test_planted_crossing_is_recovered_within_its_interval():
    curve = dose_curve("size", GRID, planted(np.random.default_rng(3)), 1.0, criterion="b†")
    x = crossover(curve, seed=1)
    assert x.censored is None and x.low < x.estimate < x.high
    assert x.low <= 150.0 <= x.high
    assert 100 < x.estimate < 225 and x.high / x.low < 4
    assert "b† exceeds the best null on route 'size' from n_atyp" in x.message()


def test_interval_covers_the_planted_crossing_near_its_level():
    """Expanded percentile: ~92 % at a nominal 95 % with 5 seeds (the plain one gives ~82 %)."""
    rng = np.random.default_rng(11)
    hits = []
    for r in range(120):
        x = crossover(dose_curve("size", GRID, planted(rng), 1.0), n_boot=1000, seed=r)
        hits.append(x.low <= 150.0 <= x.high)
    assert np.mean(hits) >= 0.87


def test_a_curve_that_never_crosses_is_censored_above():
    below = planted(np.random.default_rng(0), nstar=1e5, slope=0.1)
    x = crossover(dose_curve("size", GRID, below, 1.0))
    assert x.censored == "above" and x.estimate == math.inf and x.high == math.inf
    assert x.share_never > 0.9
    assert "> 1600 (never within the grid)" in x.message()


def test_a_curve_already_above_at_the_smallest_point_is_censored_below():
    above = planted(np.random.default_rng(0), nstar=1.0, slope=0.3)
    x = crossover(dose_curve("size", GRID, above, 1.0))
    assert x.censored == "below" and x.estimate == -math.inf and x.low == -math.inf
    assert "< 25 (already at the smallest point)" in x.message()


def test_accuracy_against_a_stated_level_on_the_difference_scale():
    acc = 0.8 + 0.05 * (np.log(GRID) - math.log(300)) + np.array([[0.0], [0.01], [-0.01]])
    x = crossover(dose_curve("size", GRID, acc, 0.8, scale="difference", level_name="accuracy 0.8"))
    assert x.estimate == pytest.approx(300.0, rel=1e-6)


def test_crossover_is_seeded():
    curve = dose_curve("size", GRID, planted(np.random.default_rng(5)), 1.0)
    a, b = crossover(curve, seed=7), crossover(curve, seed=np.random.default_rng(7))
    assert (a.low, a.high) == (b.low, b.high)


curves = st.lists(
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=5, max_size=5), min_size=2, max_size=5
)


@given(curves, st.floats(0, 1))
def test_between_grid_points_the_fit_is_positive_exactly_beyond_the_crossover(rows, where):
    """Hypothesis draws n between the grid's points: above the level iff n > n*."""
    n = GRID[:5]
    curve = dose_curve("size", n, np.asarray(rows), 0.0, scale="difference")
    x = crossover(curve, n_boot=100)
    k = min(int(where * 4), 3)
    m = float(n[k] * (n[k + 1] / n[k]) ** (where * 4 - k))
    above = bool(exceedance_at(curve, m) > 0)
    if x.censored == "above":
        assert not above
    elif x.censored == "below":
        assert above
    elif not math.isclose(m, x.estimate, rel_tol=1e-9):
        assert above == (m > x.estimate)


@given(curves, st.floats(0.1, 10))
def test_crossover_scales_with_n(rows, k):
    a = crossover(dose_curve("a", GRID[:5], np.asarray(rows), 0.0, scale="difference"), n_boot=100)
    b = crossover(dose_curve("b", k * GRID[:5], np.asarray(rows), 0.0, scale="difference"), n_boot=100)
    for u, v in ((a.estimate, b.estimate), (a.low, b.low), (a.high, b.high)):
        assert v == pytest.approx(k * u, rel=1e-9) if math.isfinite(u) else v == u


# ---- trend ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slope", "outcome"), [(0.7, "replicated"), (-0.7, "contradicted"), (0.0, "inconclusive")]
)
def test_trend_three_ways(slope, outcome):
    curve = dose_curve("size", GRID, planted(np.random.default_rng(2), slope=slope), 1.0, criterion="b†")
    v = trend_test(curve)
    assert v.outcome == outcome and v.holds == (outcome == "replicated")
    assert "b† rises with n_atyp on route 'size'" in v.message()


def test_trend_is_a_rise_of_the_seeds_not_of_the_mean():
    """Four seeds rise a little, one falls a lot: the mean falls, but most seeds rise."""
    p = np.arange(7.0)
    x = np.vstack([1 + 0.1 * p + 0.01 * s for s in range(4)] + [100 - 10 * p])
    assert x.mean(axis=0)[-1] < x.mean(axis=0)[0]
    v = trend_test(dose_curve("size", GRID, x, 1.0))
    assert v.outcome == "replicated" and v.method == "exact"


def test_trend_relative_to_a_falling_level():
    flat = np.ones((5, 7)) * np.array([[1.0], [1.1], [0.9], [1.05], [0.95]])
    falling = np.exp(-0.3 * np.arange(7)) * np.ones((5, 1)) + np.linspace(0, 0.01, 5)[:, None]
    curve = dose_curve("size", GRID, flat, falling)
    assert trend_test(curve).outcome == "inconclusive"
    assert trend_test(curve, relative_to_level=True).outcome == "replicated"


@given(st.lists(st.lists(st.integers(1, 20), min_size=4, max_size=4), min_size=2, max_size=6))
def test_trend_is_invariant_to_an_increasing_transform(rows):
    x = np.asarray(rows, float)  # integers: an increasing transform keeps ties and order exactly
    a = trend_test(dose_curve("size", GRID[:4], x, 1.0))
    b = trend_test(dose_curve("size", GRID[:4], np.sqrt(x) + 3, 1.0))
    assert a.outcome == b.outcome and a.p_increasing == pytest.approx(b.p_increasing)


@given(st.floats(0, 1))
def test_a_point_drawn_between_grid_points_keeps_the_trend(where):
    rng = np.random.default_rng(6)
    curve = dose_curve("size", GRID, planted(rng, sd=0.05, sd_seed=0.05), 1.0)
    k = min(int(where * 6), 5)
    n = float(np.exp(np.log(GRID[k]) + (where * 6 - k) * np.log(2)))
    if n in GRID:
        return
    longer = curve.with_point(n, planted(rng, [n], sd=0.05, sd_seed=0.05)[:, 0], 1.0)
    assert list(longer.n_atyp) == sorted(longer.n_atyp) and len(longer.n_atyp) == 8
    assert trend_test(longer).outcome == "replicated"


# ---- routes collapse ------------------------------------------------------------------------

SHARE = 25 * np.array([1.0, 2.0, 4.0, 6.0, 10.0])  # 5 % ... 50 % of 500 per class


def _routes(*, offset=0.0, slope_b=0.7, seeds=10, sd=0.1, seed=8):
    rng = np.random.default_rng(seed)
    a = dose_curve("size", GRID, planted(rng, seeds=seeds, sd=sd, sd_seed=sd), 1.0, criterion="b†")
    xb = planted(rng, SHARE, seeds=seeds, sd=sd, sd_seed=sd, offset=offset, slope=slope_b)
    return a, dose_curve("share", SHARE, xb, 1.0, criterion="b†")


def test_routes_planted_equal_collapse():
    a, b = _routes()
    v = routes_collapse(a, b)
    assert v.outcome == "replicated" and v.holds and not v.differ_at
    assert v.matched_n[0] == 25 and v.matched_n[-1] == 250
    assert -v.margin < v.low < v.high < v.margin
    assert "the count of atypical examples, not their share, decides b†" in v.message()


def test_routes_planted_apart_are_contradicted():
    a, b = _routes(offset=math.log(3))
    v = routes_collapse(a, b)
    assert v.outcome == "contradicted" and v.mean == pytest.approx(-math.log(3), abs=0.15)


def test_routes_that_cross_and_average_out_are_contradicted_at_a_point():
    """Route b steeper, equal to a at the matched points' centre: the mean difference is ~0."""
    rng = np.random.default_rng(9)
    centre = math.exp(np.mean(np.log([25, 50, 100, 150, 200, 250])))
    line = lambda n, slope: np.exp(
        slope * (np.log(n) - math.log(centre)) + rng.normal(0, 0.05, (10, len(n)))
    )
    a = dose_curve("size", GRID, line(GRID, 0.7), 1.0)
    b = dose_curve("share", SHARE, line(SHARE, 2.5), 1.0)
    v = routes_collapse(a, b, margin=2.0)
    assert abs(v.mean) < 0.1 and v.p_beyond > 0.05
    assert v.outcome == "contradicted" and {25.0, 250.0} <= set(v.differ_at)


def test_few_noisy_seeds_are_inconclusive():
    a, b = _routes(seeds=3, sd=0.6, seed=1)
    assert routes_collapse(a, b).outcome == "inconclusive"


def test_collapse_is_symmetric_in_the_routes():
    a, b = _routes(offset=0.2, seeds=5, sd=0.3)
    u, v = routes_collapse(a, b), routes_collapse(b, a)
    assert u.outcome == v.outcome and u.mean == pytest.approx(-v.mean)


def test_route_differences_interpolate_in_log_n():
    line = lambda n: np.tile(2.0 + 0.5 * np.log(n), (3, 1))
    a = dose_curve("size", GRID, line(GRID), 0.0, scale="difference")
    b = dose_curve("share", SHARE, line(SHARE), 0.0, scale="difference")
    m, d = route_differences(a, b)
    assert list(m) == [25, 50, 100, 150, 200, 250] and np.allclose(d, 0)


# ---- inputs, documentation, figure -----------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: dose_curve("r", [0, 10], np.ones((2, 2)), 1.0), r"n_atyp must be >= 2 positive"),
        (lambda: dose_curve("r", [10, 10], np.ones((2, 2)), 1.0), r"n_atyp must be distinct"),
        (
            lambda: dose_curve("r", [1, 2], np.ones((1, 2)), 1.0),
            r"seeds >= 2, 2 points\), got shape \(1, 2\)",
        ),
        (
            lambda: dose_curve("r", [1, 2], [[1, 0], [1, 1]], 1.0),
            r"values of route 'r' must be positive",
        ),
        (
            lambda: dose_curve("r", [1, 2], np.ones((2, 2)), [1, 2, 3]),
            r"level must be a number, 2 values",
        ),
        (lambda: dose_curve("r", [1, 2], np.ones((2, 2)), 1.0, scale="ratio"), r"unknown scale 'ratio'"),
        (
            lambda: dose_curve("r", [1, 2], np.ones((2, 2)), 1.0, seeds=[1]),
            r"seeds must name the 2 rows",
        ),
    ],
)
def test_bad_curves_name_the_value(make, match):
    with pytest.raises(InvalidArgument, match=match):
        make()


def test_bad_arguments_name_the_value():
    c = dose_curve("size", GRID, np.ones((3, 7)), 1.0)
    with pytest.raises(InvalidArgument, match=r"confidence must lie in \(0, 1\), got confidence=1.5"):
        crossover(c, confidence=1.5)
    with pytest.raises(InvalidArgument, match=r"n_boot must be an int >= 100, got n_boot=10"):
        crossover(c, n_boot=10)
    with pytest.raises(
        InvalidArgument, match=r"within the grid \[25, 1600\] of route 'size', got 3000.0"
    ):
        exceedance_at(c, 3000)
    with pytest.raises(InvalidArgument, match=r"a trend needs >= 3 points, got 2"):
        trend_test(dose_curve("size", GRID[:2], np.ones((3, 2)), 1.0))
    with pytest.raises(InvalidArgument, match=r"alpha must lie in \(0, 0.5\), got alpha=0.5"):
        trend_test(c, alpha=0.5)


def test_routes_that_cannot_be_compared_are_named():
    a = dose_curve("size", GRID, np.ones((3, 7)), 1.0)
    far = dose_curve("far", [5000, 9000], np.ones((3, 2)), 1.0)
    with pytest.raises(
        InvalidArgument, match=r"routes 'size' \[25, 1600\] and 'far' \[5000, 9000\] share no"
    ):
        routes_collapse(a, far)
    with pytest.raises(InvalidArgument, match=r"margin on the log scale is a ratio > 1, got margin=0.5"):
        routes_collapse(a, a, margin=0.5)
    with pytest.raises(InvalidArgument, match=r"routes must share a scale"):
        routes_collapse(a, dose_curve("d", GRID, np.ones((3, 7)), 1.0, scale="difference"))
    with pytest.raises(InvalidArgument, match=r"routes must have the same seeds, got 3 and 2"):
        routes_collapse(a, dose_curve("two", GRID, np.ones((2, 7)), 1.0))


@pytest.mark.parametrize("module", [dose_crossover, dose])
def test_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0


def test_dose_figure_is_written_atomically(tmp_path):
    a, b = _routes(seeds=5, sd=0.3)
    never = dose_curve("share", SHARE, 0.5 * np.ones((5, 5)), 1.0)
    acc = dose_curve("size", GRID, 0.7 + 0.02 * np.log(GRID) * np.ones((3, 1)), 0.8, scale="difference")
    panels = [
        ("b†", [a, b], {"size": crossover(a), "share": crossover(b)}),
        ("b† (never)", [a, never], {"share": crossover(never)}),
        ("atypical accuracy", [acc], {"size": crossover(acc)}),
    ]
    path = tmp_path / "figs" / "dose.png"
    dose_figure(path, panels)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert [p.name for p in path.parent.iterdir()] == ["dose.png"]  # no temporary left behind

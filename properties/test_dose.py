"""Dose-response (issue 22): the criteria against n_atyp, the atypical images of the training set.

The default suite reads only what it affords: three points of the size route (the homogeneous
mix) that the tier trains anyway or that cost little: half the homogeneous size (a point of the
dose grid), the homogeneous cell and the large cell (ci: 250, 500, 2,000 per class; n_atyp 25,
50, 200), and hypothesis draws points between them (30-80 % of the homogeneous size: 150-400
per class at ci). The whole study (both routes and the null maps; about an hour on two
workers at ci's ten seeds, cold) runs only with ``--salcheck-dose``; its committed report is
``reports/<tier>-dose.md``.

Decision rule: Page's L trend test over seeds (the points ranked within each seed), three-way
at alpha = 0.05 (salcheck.science.dose.trend_test). Each verdict is gated like the findings
(salcheck.science.verdicts.gate) against the record ``salcheck dose --write properties/verdicts``
writes: with no record a trend must replicate (an inconclusive trend is not a pass); a recorded
inconclusive or contradicted verdict is an expected failure with its numbers, and fails the
moment it turns contradicted (or, recorded contradicted, replicates).
"""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from salcheck.science.dose import trend_test
from salcheck.science.verdicts import gate
from salcheck.studies.dose import HEADLINE, collect, decide
from salcheck.studies.dose_grid import ROUTES, dose_plan, size_point
from salcheck.studies.dose_record import (
    full_decisions,
    points_plan,
    property_curves,
    property_key,
    property_points,
    property_trends,
    trend_gate_input,
)

pytestmark = pytest.mark.slow  # trains networks


@pytest.fixture(scope="module")
def size_view(salcheck_view, salcheck_compute, salcheck_method):
    """The view, once the size-route points of the default suite are in the store."""
    tier = salcheck_view.tier
    salcheck_compute(points_plan(tier, salcheck_method, property_points(tier), salcheck_view.seeds))
    return salcheck_view


@pytest.mark.finding(2, "b† rises with the number of atypical training images")
def test_b_dagger_rises_with_n_atyp(size_view, assert_dose):
    key = property_key(HEADLINE)
    assert_dose(key, property_trends(size_view)[key])


@pytest.mark.finding(2, "maps improve with data, restated on the size route")
@pytest.mark.parametrize("criterion", ["b", "c", "c_dagger"])
def test_f2_on_the_curve(size_view, assert_dose, criterion):
    key = property_key(criterion)
    assert_dose(key, property_trends(size_view)[key])


@pytest.mark.finding(2, "b† keeps rising through a drawn point between the grid's points")
def test_a_drawn_point_keeps_the_trend(
    size_view, salcheck_compute, salcheck_method, salcheck_dose_recorded
):
    """Each drawn point joins the three; the trend with it must keep b†'s recorded verdict (the
    gate of the three-point trend). A fail stops at the drawn example; expected failures are
    gathered and reported together."""
    tier, seeds = size_view.tier, list(size_view.seeds)
    fixed = {p.n_atyp for p in property_points(tier)}
    expected: list[str] = []

    @settings(settings.get_profile("salcheck-properties"))
    @given(percent=st.integers(30, 80))
    def drawn(percent):
        point = size_point(tier, round(percent / 100 * tier.n_per_class["homogeneous"]))
        assume(point.n_atyp not in fixed)
        salcheck_compute(points_plan(tier, salcheck_method, [point], seeds))
        curve = property_curves(size_view, extra=[point])[HEADLINE]
        claim = f"b† rises with n_atyp through {point.n_per_class}/class (n_atyp {point.n_atyp})"
        now = trend_gate_input(trend_test(curve, claim=claim), curve)
        result = gate(salcheck_dose_recorded.get(property_key(HEADLINE)), now, seeds)
        assert result.status != "fail", result.message
        if result.status == "xfail":
            expected.append(result.message)

    drawn()
    if expected:
        pytest.xfail("\n".join(expected))


#: Skipped before any fixture computes (a marker is read before fixtures are set up).
dose_opt_in = pytest.mark.skipif(
    "not config.getoption('salcheck_dose')",
    reason="the whole dose-response study (both routes with the null maps; about an hour on two "
    "workers at ci, cold) runs only with --salcheck-dose; read reports/<tier>-dose.md",
)


@pytest.fixture(scope="module")
def dose_study(salcheck_view, salcheck_compute, salcheck_method):
    """The whole dose-response study, computed and decided: record key -> verdict."""
    tier, seeds = salcheck_view.tier, salcheck_view.seeds
    salcheck_compute(dose_plan(tier, salcheck_method, ROUTES, seeds))
    data = collect(salcheck_view.store, tier, salcheck_method, ROUTES, seeds)
    return full_decisions(data, decide(data))


@dose_opt_in
def test_routes_fall_on_one_curve(dose_study, assert_dose):
    """New science, no finding of the poster: does the count of atypical examples, not their
    share, decide b†? (salcheck.science.dose.routes_collapse: equivalence within a factor 1.5)"""
    key = f"dose-collapse-{HEADLINE}"
    assert_dose(key, dose_study[key])


@dose_opt_in
@pytest.mark.finding(2, "b† rises along each whole route")
@pytest.mark.parametrize("route", ROUTES)
def test_b_dagger_rises_along_the_whole_route(dose_study, assert_dose, route):
    key = f"dose-trend-{route}-{HEADLINE}"
    assert_dose(key, dose_study[key])

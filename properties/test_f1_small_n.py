"""F1. With a small number of samples, saliency maps represent the typical subtype better than
the atypical one.

Poster (default training, CE): homogeneous b = 12.3 vs b† = 1.6; heterogeneous b = 8.6 vs
b† = 0.9. Decision rule (salcheck.science.stats.paired_test): exact paired sign-flip test over training
seeds of log b - log b† > 0 at alpha = 0.05.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salcheck.engine.plan import specs_plan
from salcheck.science.findings import Comparison, decide_finding

pytestmark = pytest.mark.slow  # trains networks


@pytest.mark.finding(1, "typical maps beat atypical ones with few samples")
@pytest.mark.parametrize("dataset", ["homogeneous", "heterogeneous"])
def test_typical_maps_beat_atypical_ones(assert_comparison, dataset):
    assert_comparison(f"F1-{dataset}")


@pytest.mark.slow
@pytest.mark.finding(1, "typical maps beat atypical ones, over drawn small cohorts")
@settings(settings.get_profile("salcheck-properties"))
@given(atypical_pct=st.integers(5, 15), n_per_class=st.integers(6, 14).map(lambda k: 50 * k))
def test_typical_beats_atypical_over_drawn_cohorts(
    salcheck_view, salcheck_compute, atypical_pct, n_per_class
):
    """Atypical share 0.05-0.15 (errors 0.05, typical the rest), 300-700 images per class: F1
    for the method, beyond the null maps on the same drawn models."""
    view = salcheck_view
    share = atypical_pct / 100
    drawn = {"n_per_class": n_per_class, "mix": (0.05, 0.95 - share, share)}
    specs = view.specs("homogeneous", **drawn)
    methods = [view.method, *view.nulls]
    plan = specs_plan(view.tier.test(), specs, methods=methods, parts=("maps",), protocol=view.protocol)
    salcheck_compute(plan)
    values = lambda v: lambda d, variant, k: v.values(d, variant, k, **drawn)
    claim = f"b > b† (atypical share {share}, {n_per_class} per class)"
    c = Comparison(
        "F1-drawn", 1, claim, ("homogeneous", "default", "b"), ("homogeneous", "default", "b_dagger")
    )
    nulls = {n.name: values(view.for_method(n)) for n in view.nulls}
    finding = decide_finding(c, values(view), nulls)
    assert finding.verdict.holds, finding.verdict.message() + (
        "\n" + finding.rule.message() if finding.rule else ""
    )

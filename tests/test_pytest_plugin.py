"""The pytest plugin, run with pytester over a fake results view whose verdicts the test sets."""

import json
import math
import textwrap

import pytest

from salcheck.science.verdicts import RECORD_VERSION

CONFTEST = textwrap.dedent("""
    import math

    import pytest

    from salcheck.science.stats import paired_test, undecidable
    from salcheck.store.tiers import get_tier

    D = {"strong": [2.3, 2.2, 2.5, 2.4, 2.1], "near": [0.5, -0.2, 0.4, -0.1, 0.3],
         "weak": [0.5, -0.4, 0.3, -0.3, 0.1]}
    NOW = {"F1-homogeneous": ("strong", 1), "F1-heterogeneous": ("near", 1),
           "F2-b": ("weak", 1), "F2-c": ("strong", 1), "F2-b_dagger": ("strong", -1),
           "F2-c_dagger": ("strong", 1), "F7-b-twice-b_dagger": ("near", 1),
           "F4-homogeneous-c": ("strong", -1), "F4-homogeneous-c_dagger": ("strong", 1),
           "F4-heterogeneous-c": ("undecidable", 1)}

    def verdict(kind, sign, claim):
        if kind == "undecidable":
            return undecidable(claim, "the cell did not learn", [1.0] * 5, [1.0] * 5)
        return paired_test([math.exp(sign * d) for d in D[kind]], [1.0] * 5, claim=claim)

    class FakeView:
        tier = get_tier("ci")
        method_name = "Fake"
        seeds = (0, 1, 2, 3, 4)

        def decide(self, c):
            return verdict(*NOW[c.key], c.claim)

        def weights_digest(self, dataset, variant):
            return f"zoo-{dataset}-{variant}"  # the same models as the record's, when it names them

        def finding(self, c):
            from salcheck.science.findings import FindingVerdict

            v = self.decide(c)
            return FindingVerdict(v, {}, None, v)

    @pytest.fixture(scope="session")
    def salcheck_view():
        return FakeView()
""")

SEEDS = [0, 1, 2, 3, 4]


def entry(outcome, seeds=(0, 1, 2, 3, 4)):
    """An entry recorded elsewhere (the same seeds, other values: no re-read)."""
    return {"outcome": outcome, "seeds": list(seeds), "digest": "0" * 16, "p_forward": 0.5}


def re_read_entry():
    """The entry the fake view's F4-homogeneous-c_dagger gives on its own seeds."""
    from salcheck.science.findings import ALL
    from salcheck.science.stats import paired_test
    from salcheck.science.verdicts import verdict_dict

    x = [math.exp(d) for d in [2.3, 2.2, 2.5, 2.4, 2.1]]
    claim = ALL["F4-homogeneous-c_dagger"].claim
    return verdict_dict(paired_test(x, [1.0] * 5, claim=claim), SEEDS)


RECORD = {
    "record_version": RECORD_VERSION,
    "verdicts": {
        "F1-homogeneous": entry("replicated"),
        "F1-heterogeneous": entry("replicated"),
        "F2-b": entry("replicated"),
        "F2-c": entry("contradicted"),
        "F2-b_dagger": entry("contradicted"),
        "F2-c_dagger": entry("inconclusive"),
        "F4-homogeneous-c": entry("inconclusive"),
        "F4-heterogeneous-c": {**entry("undecidable"), "reason": "the cell did not learn"},
    },
}


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST)
    (pytester.path / "verdicts").mkdir()
    record = {**RECORD, "verdicts": {**RECORD["verdicts"], "F4-homogeneous-c_dagger": re_read_entry()}}
    (pytester.path / "verdicts" / "ci-fake.json").write_text(json.dumps(record))
    return pytester


def run(suite, key):
    suite.makepyfile(
        **{
            f"test_{key.replace('-', '_')}": f"""
        def test_it(assert_comparison):
            assert_comparison("{key}")
    """
        }
    )
    return suite.runpytest("--salcheck-verdicts", "verdicts", "-p", "no:cacheprovider", "-rA")


CHANGED = "*salcheck: verdicts that changed from their record*"


@pytest.mark.parametrize(
    ("key", "outcome", "line", "changed"),
    [
        ("F1-homogeneous", {"passed": 1}, "*recorded replicated; the gate holds*", False),
        # recorded replicated, p in [alpha, gate): holds, and the change is reported
        ("F1-heterogeneous", {"passed": 1}, "F1-heterogeneous: *CHANGED from replicated to inc*", True),
        ("F2-b", {"failed": 1}, "*p = 0.438 (14/32)*FELL from replicated beyond the gate*", True),
        ("F2-c", {"failed": 1}, "*STALE record: recorded contradicted, now replicates*", True),
        ("F2-b_dagger", {"xfailed": 1}, "*recorded contradicted; expected to fail*", False),
        ("F2-c_dagger", {"passed": 1}, "*CHANGED from inconclusive to replicated*", True),
        ("F4-homogeneous-c", {"failed": 1}, "*recorded inconclusive, now CONTRADICTED at alpha*", True),
        ("F4-heterogeneous-c", {"xfailed": 1}, "*still undecidable (the cell did not learn)*", False),
        ("F4-homogeneous-c_dagger", {"passed": 1}, "*re-read, unchanged*not a replication*", False),
        ("F7-b-twice-b_dagger", {"failed": 1}, "*no record: must replicate at alpha*", False),
    ],
)
def test_gate_outcomes(suite, key, outcome, line, changed):
    result = run(suite, key)
    result.assert_outcomes(**outcome)
    result.stdout.fnmatch_lines([line])
    if changed:
        result.stdout.fnmatch_lines([CHANGED, f"{key}: *CHANGED from*"])
    else:
        result.stdout.no_fnmatch_line(CHANGED)


@pytest.mark.parametrize(
    ("models", "outcome", "line"),
    [
        (
            "same",
            {"failed": 1},
            "*FELL from replicated beyond the gate (p > 0.05, on the record's own models*",
        ),
        ("other", {"passed": 1}, "*the gate holds while p <= 0.2 (on retrained models*"),
    ],
)
def test_the_plugin_holds_a_replication_to_alpha_on_the_records_own_models(suite, models, outcome, line):
    """The plugin passes the models decided on to the gate: F1 on heterogeneous falls to p 5/32
    now; on the models its record names that fails, on other models the record's 0.2 holds it."""
    from salcheck.science.findings import ALL
    from salcheck.science.verdicts import models_digest
    from salcheck.store.tiers import get_tier

    class Zoo:  # the fake view's tier: the same test set; its models as the record names them
        tier = get_tier("ci")

        def weights_digest(self, dataset, variant):
            return f"zoo-{dataset}-{variant}" if models == "same" else "retrained"

    named = {**entry("replicated"), "models": models_digest(Zoo(), ALL["F1-heterogeneous"])}
    record = {**RECORD, "gate_alpha": 0.2, "verdicts": {**RECORD["verdicts"], "F1-heterogeneous": named}}
    (suite.path / "verdicts" / "ci-fake.json").write_text(json.dumps(record))
    result = run(suite, "F1-heterogeneous")
    result.assert_outcomes(**outcome)
    result.stdout.fnmatch_lines([line])


def test_unknown_comparison_is_a_usage_error(suite):
    result = run(suite, "F9-nothing")
    result.stdout.fnmatch_lines(["*unknown comparison 'F9-nothing'*"])
    assert result.ret != 0


def test_finding_marker_is_validated(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.finding("one", claim=3)
        def test_bad():
            pass

        @pytest.mark.finding(2, "maps improve with data")
        def test_good():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*finding mark needs (number: int, claim: str)*"])
    result.assert_outcomes(passed=1, errors=1)


def test_options_are_registered(pytester):
    """The plugin offers every run option the command line declares (one declaration)."""
    from salcheck.cli import build_parser
    from salcheck.options import OPTIONS, PLUGIN

    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([f"*--salcheck-{OPTIONS[n].flag[2:]}*" for n in PLUGIN])
    run_help = build_parser().parse_args(["run"])
    assert {n for n in PLUGIN if n not in ("verdicts", "dose")} <= set(vars(run_help))


DOSE_TESTS = textwrap.dedent("""
    import pytest

    from salcheck.studies.dose_record import GateInput

    def now(outcome, p):
        return GateInput("b† rises", outcome, p, f"b† rises: {outcome} (p = {p})", (1.0, 2.0))

    def test_rises_without_record(assert_dose):
        assert_dose("dose-F2-b", now("replicated", 0.01))

    def test_inconclusive_without_record(assert_dose):
        assert_dose("dose-F2-c", now("inconclusive", 0.3))

    def test_inconclusive_as_recorded(assert_dose):
        assert_dose("dose-F2-b_dagger", now("inconclusive", 0.3))

    def test_falls_where_recorded_inconclusive(assert_dose):
        assert_dose("dose-F2-b_dagger", now("contradicted", 0.99))

    @pytest.mark.skipif("not config.getoption('salcheck_dose')", reason="opt-in: --salcheck-dose")
    def test_opt_in():
        pass
""")


@pytest.mark.parametrize("opt_in", [False, True])
def test_dose_verdicts_pass_the_findings_gate(suite, opt_in):
    """An inconclusive trend is not a pass without a record; recorded, it is an expected failure
    until it turns contradicted; the whole study runs only with --salcheck-dose."""
    record = {"record_version": RECORD_VERSION, "verdicts": {"dose-F2-b_dagger": entry("inconclusive")}}
    (suite.path / "verdicts" / "ci-fake-dose.json").write_text(json.dumps(record))
    suite.makepyfile(test_dose_gate_fake=DOSE_TESTS)
    args = ["--salcheck-verdicts", "verdicts", "-p", "no:cacheprovider", "-rA"]
    result = suite.runpytest(*args, *(["--salcheck-dose"] if opt_in else []))
    result.assert_outcomes(passed=2 if opt_in else 1, failed=2, xfailed=1, skipped=0 if opt_in else 1)
    result.stdout.fnmatch_lines(
        [
            "*inconclusive (p = 0.3)*no record: must replicate at alpha; it is inconclusive*",
            "*recorded inconclusive, now CONTRADICTED at alpha*",
        ]
    )


#: The plugin's own views (``salcheck_view``, ``salcheck_tier_view``), nothing trained: compute
#: records the plans it is given, and ResultsView.finding decides by the tier's name and the key.
TIERS_CONFTEST = textwrap.dedent("""
    import math
    import os

    import pytest

    from salcheck.engine.plan import Plan
    from salcheck.science.findings import FindingVerdict
    from salcheck.science.stats import paired_test
    from salcheck.store.view import ResultsView

    STRONG = [2.3, 2.2, 2.5, 2.4, 2.1]
    NOW = {("ci3d", "F1-homogeneous"): -1, ("ci3d", "F2-b"): -1, ("ci", "F1-homogeneous"): 1}
    PLANS = []

    def finding(self, c):
        sign = NOW[(self.tier.name, c.key)]
        v = paired_test([math.exp(sign * d) for d in STRONG], [1.0] * 5, claim=c.claim)
        return FindingVerdict(v, {}, None, v)

    @pytest.fixture(scope="session", autouse=True)
    def fake_findings():
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(ResultsView, "finding", finding)
            if not os.environ.get("NOTHING_HELD"):  # the store holds every model of every plan
                mp.setattr(Plan, "missing", lambda self, store: Plan(self.test, (), ()))
            yield

    @pytest.fixture(scope="session")
    def salcheck_compute():
        return PLANS.append
""")


def tier_record(**outcomes):
    return {"record_version": RECORD_VERSION, "verdicts": {k: entry(o) for k, o in outcomes.items()}}


@pytest.fixture
def tiers_suite(pytester):
    """Records for ci and ci3d on the same seeds (0-4) that disagree, so the record read shows."""
    pytester.makeconftest(TIERS_CONFTEST)
    verdicts = pytester.path / "verdicts"
    verdicts.mkdir()
    ci = tier_record(**{"F1-homogeneous": "contradicted", "F2-b": "replicated"})
    ci3d = tier_record(**{"F1-homogeneous": "replicated", "F2-b": "contradicted"})
    (verdicts / "ci-vanilla-gradient.json").write_text(json.dumps(ci))
    (verdicts / "ci3d-vanilla-gradient.json").write_text(json.dumps(ci3d))
    return pytester


def run_tiers(suite, *args):
    common = ["--salcheck-verdicts", "verdicts", "--salcheck-store", "store", "-p", "no:cacheprovider"]
    return suite.runpytest(*common, "-rA", *args)


@pytest.mark.parametrize(
    ("key", "outcome", "line"),
    [
        # ci3d recorded replicated, now contradicted: fails (the ci record would xfail it)
        ("F1-homogeneous", {"failed": 1}, "*FELL from replicated*recorded replicated on seeds*"),
        # ci3d recorded contradicted and still: an xfail (the ci record would fail it)
        ("F2-b", {"xfailed": 1}, "*recorded contradicted; expected to fail*"),
    ],
)
def test_a_named_tier_is_gated_against_its_own_record(tiers_suite, key, outcome, line):
    """``assert_comparison_on("ci3d")`` decides on the ci3d view and reads
    ``ci3d-<method>.json``, whatever the run's tier (here the default, ci)."""
    tiers_suite.makepyfile(
        test_named=f"""
        def test_it(assert_comparison_on):
            assert_comparison_on("ci3d")("{key}")
    """
    )
    result = run_tiers(tiers_suite)
    result.assert_outcomes(**outcome)
    result.stdout.fnmatch_lines([line])
    if "failed" in outcome:
        result.stdout.fnmatch_lines([CHANGED, f"{key} on ci3d: *CHANGED from replicated*"])


def test_a_named_tier_takes_its_own_seeds_and_network(tiers_suite):
    """``--salcheck-seeds`` and ``--salcheck-network`` choose the run's tier only; the named
    tier's view is built once, on its seeds, after its properties plan was computed."""
    tiers_suite.makepyfile(
        test_seeds="""
        from conftest import PLANS

        def test_views(salcheck_view, salcheck_tier_view):
            assert salcheck_view.seeds == (0, 1, 2) and salcheck_view.tier.network == "conv5_fc3"
            view = salcheck_tier_view("ci3d")
            assert salcheck_tier_view("ci3d") is view
            assert (view.tier.name, view.tier.dims, view.seeds) == ("ci3d", 3, (0, 1, 2, 3, 4))
            assert view.tier.network == "convnet"
            assert [p.test.dims for p in PLANS] == [2, 3]
            assert {t.spec.seed for t in PLANS[1].tasks} == {0, 1, 2, 3, 4}
    """
    )
    result = run_tiers(tiers_suite, "--salcheck-seeds", "0", "1", "2", "--salcheck-network", "conv5_fc3")
    result.assert_outcomes(passed=1)


def test_a_named_tier_whose_models_are_nowhere_is_skipped_not_trained(tiers_suite, monkeypatch):
    """The tier beside the run's (ci3d) is read from the zoo or the store, never trained by the
    suite: with none of its models held, its properties skip, saying how to get them, and no
    plan of it reaches compute."""
    monkeypatch.setenv("NOTHING_HELD", "1")
    tiers_suite.makepyfile(
        test_nowhere="""
        def test_side_tier(assert_comparison_on):
            assert_comparison_on("ci3d")("F1-homogeneous")
    """
    )
    result = run_tiers(tiers_suite)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*tier ci3d: 15 of its models are in neither the zoo nor the store*"])


def test_a_comparison_outside_the_tiers_grid_is_skipped(tiers_suite):
    """Run on ci3d, F3 (a variant's cell, which ci3d does not train) is skipped, naming the key
    and the tier; F1 on the grid is decided against the ci3d record."""
    tiers_suite.makepyfile(
        test_grid="""
        import pytest

        @pytest.mark.parametrize("key", ["F3-homogeneous-Noise-b", "F1-homogeneous"])
        def test_it(assert_comparison, key):
            assert_comparison(key)
    """
    )
    result = run_tiers(tiers_suite, "--salcheck-tier", "ci3d")
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*F1-homogeneous*FELL from replicated*recorded replicated on seeds*",
            "SKIPPED*F3-homogeneous-Noise-b: outside the grid of tier ci3d (no homogeneous Noise)*",
        ]
    )

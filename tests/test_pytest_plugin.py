"""The pytest plugin, run with pytester over a fake results view whose verdicts the test sets."""

import json
import textwrap

import pytest

CONFTEST = textwrap.dedent("""
    import math
    from types import SimpleNamespace

    import pytest

    from salcheck.science.stats import paired_test

    D = {"strong": [2.3, 2.2, 2.5, 2.4, 2.1], "near": [0.5, -0.2, 0.4, -0.1, 0.3],
         "weak": [0.5, -0.4, 0.3, -0.3, 0.1]}
    NOW = {"F1-homogeneous": ("strong", 1), "F1-heterogeneous": ("near", 1),
           "F2-b": ("weak", 1), "F2-c": ("strong", 1), "F2-b_dagger": ("strong", -1),
           "F2-c_dagger": ("strong", 1), "F7-b-twice-b_dagger": ("near", 1)}

    class FakeView:
        tier = SimpleNamespace(name="ci")
        method_name = "Fake"

        def decide(self, c):
            kind, sign = NOW[c.key]
            return paired_test([math.exp(sign * d) for d in D[kind]], [1.0] * 5, claim=c.claim)

    @pytest.fixture(scope="session")
    def salcheck_view():
        return FakeView()
""")

RECORD = {
    "record_version": 1,
    "verdicts": {
        "F1-homogeneous": {"outcome": "replicated"},
        "F1-heterogeneous": {"outcome": "replicated"},
        "F2-b": {"outcome": "replicated"},
        "F2-c": {"outcome": "contradicted"},
        "F2-b_dagger": {"outcome": "contradicted"},
        "F2-c_dagger": {"outcome": "inconclusive"},
    },
}


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST)
    (pytester.path / "verdicts").mkdir()
    (pytester.path / "verdicts" / "ci-fake.json").write_text(json.dumps(RECORD))
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
    return suite.runpytest("--salcheck-verdicts", "verdicts", "-p", "no:cacheprovider", "-rxX")


@pytest.mark.parametrize(
    ("key", "outcome"),
    [
        ("F1-homogeneous", {"passed": 1}),  # recorded replicated, replicates
        ("F1-heterogeneous", {"passed": 1}),  # recorded replicated, p in [alpha, gate): holds
        ("F2-b", {"failed": 1}),  # recorded replicated, p beyond the gate: fails with numbers
        ("F2-c", {"failed": 1}),  # recorded contradicted, now replicates: strict XPASS fails
        ("F2-b_dagger", {"xfailed": 1}),  # recorded contradicted, still contradicted
        ("F2-c_dagger", {"xpassed": 1}),  # recorded inconclusive, now replicates: reported
        ("F7-b-twice-b_dagger", {"failed": 1}),  # no record, inconclusive: must replicate
    ],
)
def test_gate_outcomes(suite, key, outcome):
    result = run(suite, key)
    result.assert_outcomes(**outcome)
    if key == "F2-b":
        result.stdout.fnmatch_lines(["*FELL from replicated beyond the gate*"])
    if key == "F2-b_dagger":
        result.stdout.fnmatch_lines(["*recorded contradicted*contradicted at alpha 0.05*"])


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
    assert {n for n in PLUGIN if n != "verdicts"} <= set(vars(run_help))

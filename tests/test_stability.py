"""The stability measurement and the gate threshold it sets, on given numbers."""

import json
import math
from types import SimpleNamespace

import pytest

from salcheck.errors import InvalidArgument
from salcheck.science.findings import Comparison
from salcheck.science.stability import (
    DISJOINT_SEEDS,
    FLOAT_PATH,
    build_measurement,
    gate_threshold,
    read_measurement,
    stability_name,
    write_measurement,
)
from salcheck.science.stats import ALPHA, paired_test
from salcheck.science.verdicts import (
    GATE_ALPHA,
    RECORD_VERSION,
    build_record,
    gate,
    gate_alpha_for,
    read_record,
    recorded_entries,
    verdict_dict,
    write_record,
)

SEEDS = [0, 1, 2, 3, 4]
STRONG, NEAR_D, WEAK_D = (
    [2.3, 2.2, 2.5, 2.4, 2.1],
    [0.5, -0.2, 0.4, -0.1, 0.3],
    [0.5, -0.4, 0.3, -0.3, 0.1],
)
REPLICATED = paired_test([math.exp(d) for d in STRONG], [1.0] * 5, claim="strong")  # p = 1/32
NEAR = paired_test([math.exp(d) for d in NEAR_D], [1.0] * 5, claim="near")  # p = 5/32
WEAK = paired_test([math.exp(d) for d in WEAK_D], [1.0] * 5, claim="weak")  # p = 14/32


def entry(v):
    """A record entry as ``build_record`` writes it."""
    return json.loads(json.dumps(verdict_dict(v, SEEDS)))


def other_run(d):
    """Measured again elsewhere: other values, so another digest."""
    return paired_test([math.exp(x + 1e-9) for x in d], [math.exp(1e-9)] * 5, claim="again")


class FakeView:
    tier = SimpleNamespace(name="ci")
    method_name = "Vanilla gradient"
    seeds = tuple(SEEDS)
    protocol_id = "training: early stopping"

    def findings_available(self, comparisons):
        from salcheck.science.findings import FindingVerdict

        return {"F1-homogeneous": FindingVerdict(REPLICATED, {}, None, REPLICATED)}


def _v(outcome, p):
    """What the measurement reads of a verdict."""
    return type("V", (), {"outcome": outcome, "p_forward": p})()


REFERENCE = {
    "F1": _v("replicated", 0.001),
    "F2": _v("replicated", 0.03),
    "F3": _v("inconclusive", 0.3),
    "F4": _v("contradicted", 0.99),
}
FLOAT = {
    "F1": _v("replicated", 0.002),
    "F2": _v("inconclusive", 0.094),
    "F3": _v("replicated", 0.01),
    "F4": None,
}
SEEDS_RERUN = {
    "F1": _v("inconclusive", 0.6),
    "F2": _v("replicated", 0.01),
    "F3": _v("inconclusive", 0.4),
}


def measured(float_path=FLOAT, seeds=SEEDS_RERUN):
    reruns = {FLOAT_PATH: ({"seeds": SEEDS}, float_path), DISJOINT_SEEDS: ({"seeds": [5, 6]}, seeds)}
    return build_measurement("ci", "Vanilla gradient", SEEDS, REFERENCE, reruns)


def test_the_threshold_is_the_furthest_float_path_fall_of_a_replicated_comparison():
    m = measured()
    # F2 fell to 0.094 on the float path; F3 (inconclusive on the reference) does not count, nor
    # does seed choice (F1 fell to 0.6 on other seeds): the gate refuses records of other seeds.
    assert m["gate_alpha"] == gate_threshold(m) == 0.094
    assert m["reruns"][DISJOINT_SEEDS]["largest_drop"] == 0.6
    assert m["reruns"][FLOAT_PATH]["counts"] == {
        "compared": 3,
        "same": 1,
        "replicated_contradicted_flips": 0,
        "to_inconclusive": 1,
        "from_inconclusive": 1,
        "to_or_from_undecidable": 0,
    }


def test_the_threshold_is_never_below_alpha_and_an_undecidable_rerun_is_listed_not_counted():
    steady = {"F1": _v("replicated", 0.001), "F2": _v("replicated", 0.002)}
    assert gate_threshold(measured(float_path=steady)) == ALPHA
    m = measured(float_path={"F1": _v("undecidable", None), "F2": _v("replicated", 0.002)})
    assert m["reruns"][FLOAT_PATH]["replicated_drops"] == {"F2": 0.002}
    assert m["reruns"][FLOAT_PATH]["lost_to_undecidable"] == ["F1"]
    assert m["gate_alpha"] == ALPHA  # one lost comparison does not switch the gate off


def test_a_partial_float_path_cannot_set_a_threshold():
    with pytest.raises(
        InvalidArgument, match=r"lacks 1 comparison\(s\) replicated on the reference: \['F2'\]"
    ):
        measured(float_path={"F1": _v("replicated", 0.002)})
    with pytest.raises(InvalidArgument, match="p_forward None is not a number"):
        measured(float_path={"F1": _v("replicated", None), "F2": _v("replicated", 0.002)})


def test_a_measurement_round_trips_and_a_bad_one_is_refused_by_name(tmp_path):
    path = write_measurement(measured(), tmp_path)
    assert path.name == stability_name("ci") == "ci-stability.json"
    assert read_measurement(path) == json.loads(path.read_text())
    for tamper, why in [
        (lambda m: m.update(gate_alpha=0.5), "is not what its numbers give"),
        (lambda m: m.update(stability_version=0), "stability_version 0"),
        (lambda m: m["reruns"].pop(FLOAT_PATH), "no 'float_path' rerun"),
        (lambda m: m["reference"]["F1"].update(outcome="holds"), "outcome 'holds'"),
        (lambda m: m["reruns"][FLOAT_PATH]["outcomes"].pop("F2"), "lacks 1 comparison"),
        (lambda m: m.pop("method"), "no 'method'"),
    ]:
        m = measured()
        tamper(m)
        path.write_text(json.dumps(m))
        with pytest.raises(InvalidArgument, match=why) as info:
            read_measurement(path)
        assert str(path) in str(info.value)
    with pytest.raises(InvalidArgument, match="rerun names must be among"):
        build_measurement("ci", "m", [0], REFERENCE, {"other": ({}, FLOAT)})


def test_a_record_carries_the_measured_threshold_and_the_gate_holds_to_it(tmp_path, monkeypatch):
    import salcheck.science.verdicts as verdicts

    monkeypatch.setattr(verdicts, "SHIPPED", tmp_path / "nothing shipped")
    comparisons = {"F1-homogeneous": Comparison("k", 1, "c", 1.0, 1.0)}
    unmeasured = build_record(FakeView(), comparisons, tmp_path)
    assert (unmeasured["gate_alpha"], unmeasured["gate_alpha_from"]) == (
        GATE_ALPHA,
        "unmeasured default",
    )
    write_measurement(measured(), tmp_path)
    write_record(FakeView(), tmp_path, comparisons)
    entries = recorded_entries(tmp_path, "ci", "Vanilla gradient")
    assert entries["F1-homogeneous"]["gate_alpha"] == 0.094
    record = json.loads((tmp_path / "ci-vanilla-gradient.json").read_text())
    assert record["gate_alpha_from"].startswith("ci-stability.json (measured at")
    # p = 5/32 = 0.156: within the unmeasured 0.2, beyond the measured 0.094.
    assert 0.094 < NEAR.p_forward < GATE_ALPHA
    assert gate(entry(REPLICATED), other_run(NEAR_D), SEEDS).status == "pass"
    fell = gate({**entry(REPLICATED), "gate_alpha": 0.094}, other_run(NEAR_D), SEEDS)
    assert fell.status == "fail" and "beyond the gate (p > 0.094, on retrained models" in fell.message
    held = gate({**entry(REPLICATED), "gate_alpha": 0.094}, other_run(STRONG), SEEDS)
    assert held.status == "pass" and "p <= 0.094" in held.message
    # At the threshold itself the rerun that set it passes: only a further drop fails.
    at = gate({**entry(REPLICATED), "gate_alpha": NEAR.p_forward}, other_run(NEAR_D), SEEDS)
    assert at.status == "pass"
    assert gate({**entry(REPLICATED), "gate_alpha": 0.5}, WEAK, SEEDS).status == "pass"
    against = paired_test([1.0] * 5, [math.exp(d) for d in STRONG], claim="reversed")
    assert against.outcome == "contradicted"
    assert gate({**entry(REPLICATED), "gate_alpha": 1.0}, against, SEEDS).status == "fail"


def test_a_measurement_of_another_method_or_seeds_does_not_set_a_records_threshold(tmp_path):
    write_measurement(measured(), tmp_path)
    nothing = tmp_path / "nothing shipped"
    assert gate_alpha_for("ci", "Vanilla gradient", SEEDS, tmp_path, nothing)[0] == 0.094
    for method, seeds in [("my method", SEEDS), ("Vanilla gradient", [5, 6, 7, 8, 9])]:
        threshold, source = gate_alpha_for("ci", method, seeds, tmp_path, nothing)
        assert threshold == GATE_ALPHA and "not this record's" in source
    assert gate_alpha_for("ci3d", "Vanilla gradient", SEEDS, tmp_path, nothing) == (
        GATE_ALPHA,
        "unmeasured default",
    )


@pytest.mark.parametrize("bad", [None, "abc", 0.01, 1.5, True])
def test_a_record_with_a_bad_threshold_is_refused_by_name(tmp_path, bad):
    path = tmp_path / "ci-x.json"
    path.write_text(json.dumps({"record_version": RECORD_VERSION, "gate_alpha": bad, "verdicts": {}}))
    with pytest.raises(InvalidArgument, match=r"gate_alpha .*must be a number in \[0.05, 1\]"):
        read_record(path)


def test_the_threshold_reads_real_verdicts():
    strong = paired_test([3, 4, 5, 4, 3], [1, 1, 1, 1, 1], claim="x > y")
    m = build_measurement("ci", "m", [0], {"x": strong}, {FLOAT_PATH: ({}, {"x": NEAR})})
    assert m["gate_alpha"] == NEAR.p_forward == 5 / 32

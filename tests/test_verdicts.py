"""The gate on given numbers: every path, each shown passing, failing or xfailing."""

import json
import math
from types import SimpleNamespace

import pytest

from salcheck.errors import InvalidArgument
from salcheck.science.findings import Comparison
from salcheck.science.stats import paired_test, undecidable
from salcheck.science.verdicts import (
    GATE_ALPHA,
    RECORD_VERSION,
    build_record,
    gate,
    method_entries,
    read_record,
    record_name,
    recorded_outcomes,
    verdict_dict,
    write_record,
)

SEEDS = [0, 1, 2, 3, 4]
OTHER_SEEDS = [5, 6, 7, 8, 9]
D = {  # per-seed log differences -> a chosen exact p band (5 seeds)
    "strong": [2.3, 2.2, 2.5, 2.4, 2.1],  # every seed agrees: p = 1/32 < alpha
    "near": [0.5, -0.2, 0.4, -0.1, 0.3],  # alpha <= p = 5/32 < GATE_ALPHA
    "weak": [0.5, -0.4, 0.3, -0.3, 0.1],  # p = 14/32 >= GATE_ALPHA
}


def verdict(kind, sign=1.0, jitter=0.0):
    x = [math.exp(sign * d + jitter) for d in D[kind]]
    return paired_test(x, [math.exp(jitter)] * 5, claim=kind)


REPLICATED, NEAR, WEAK = verdict("strong"), verdict("near"), verdict("weak")
CONTRADICTED, INCONCLUSIVE = verdict("strong", -1), verdict("near")
UNDECIDABLE = undecidable("b > b†", "the cell did not learn", [1.0] * 5, [1.0] * 5)


def entry(v, seeds=SEEDS):
    """A record entry as ``build_record`` writes it."""
    return json.loads(json.dumps(verdict_dict(v, seeds)))


def other_run(v_kind, sign=1.0):
    """The same outcome measured again elsewhere: other values, so another digest."""
    return verdict(v_kind, sign, jitter=1e-9)


def test_the_bands_are_what_the_tests_assume():
    assert REPLICATED.p_forward == 1 / 32 and REPLICATED.outcome == "replicated"
    assert 0.05 <= NEAR.p_forward < GATE_ALPHA and NEAR.outcome == "inconclusive"
    assert WEAK.p_forward >= GATE_ALPHA
    assert CONTRADICTED.outcome == "contradicted"
    assert other_run("strong").digest() != REPLICATED.digest()


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        (REPLICATED, "pass"),
        (CONTRADICTED, "xfail"),
        (INCONCLUSIVE, "xfail"),
        (UNDECIDABLE, "xfail"),
    ],
)
def test_a_run_on_the_records_own_numbers_is_a_re_read_not_a_replication(recorded, expected):
    result = gate(entry(recorded), recorded, SEEDS)
    assert result.status == expected and not result.changed
    assert "re-read, unchanged" in result.message and "not a replication" in result.message
    assert "gate holds" not in result.message


def test_a_record_of_other_seeds_is_refused():
    """A record decided on other seeds is of other models: refused, the finding must replicate
    at alpha as if unrecorded (a recorded replicated cannot carry a weaker run on new seeds)."""
    result = gate(entry(REPLICATED), REPLICATED, OTHER_SEEDS)
    assert result.status == "pass" and "re-read" not in result.message
    assert "the record (seeds [0, 1, 2, 3, 4]) is refused on seeds [5, 6, 7, 8, 9]" in result.message
    near = gate(entry(REPLICATED), other_run("near"), OTHER_SEEDS)
    assert near.status == "fail" and "must replicate at alpha; it is inconclusive" in near.message
    assert gate(entry(REPLICATED), other_run("near"), SEEDS).status == "pass"  # the same seeds
    assert "re-read" not in gate(entry(REPLICATED), other_run("strong"), SEEDS).message


def test_an_inconclusive_record_blocked_only_by_the_null_rule_fails_when_its_own_test_falls():
    """Recorded inconclusive while the method's own test replicated (the null rule blocked it):
    the own test must keep replicating; a record without that note keeps the xfail."""
    blocked = {**entry(INCONCLUSIVE), "own_outcome": "replicated"}
    held = gate(blocked, other_run("near"), SEEDS, own=other_run("strong"))
    assert held.status == "xfail"
    fell = gate(blocked, other_run("near"), SEEDS, own=other_run("weak"))
    assert fell.status == "fail"
    assert "inconclusive by the null rule alone; its own test FELL to inconclusive" in fell.message
    assert gate(entry(INCONCLUSIVE), other_run("near"), SEEDS, own=other_run("weak")).status == "xfail"


def test_on_the_records_own_models_a_replication_is_held_to_alpha():
    """The same models (equal weights digests): no training noise lies between the record and
    now, so a recorded replication that falls to p >= alpha fails, where on retrained models
    (another digest, or none) the record's threshold holds it."""
    recorded = {
        **json.loads(json.dumps(verdict_dict(REPLICATED, SEEDS, models="m1"))),
        "gate_alpha": 0.9,
    }
    same = gate(recorded, other_run("near"), SEEDS, models="m1")
    assert same.status == "fail" and "on the record's own models" in same.message
    assert "p > 0.05" in same.message
    assert gate(recorded, other_run("strong"), SEEDS, models="m1").status == "pass"
    for models in ("m2", None):
        held = gate(recorded, other_run("near"), SEEDS, models=models)
        assert held.status == "pass" and "on retrained models" in held.message


def test_a_record_names_the_models_each_verdict_read():
    """``models_digest``: per comparison, the weights of its cells' models seed by seed; one
    changed weight changes it, and a view that cannot say gives None."""
    from salcheck.science.findings import Comparison
    from salcheck.science.verdicts import models_digest

    class View:
        def __init__(self, shas):
            self.shas = shas

        def weights_digest(self, dataset, variant):
            return self.shas.get((dataset, variant))

    c = Comparison("k", 1, "x > y", ("h", "v", "b"), ("h", "d", "b"))
    a = models_digest(View({("h", "v"): "1", ("h", "d"): "2"}), c)
    assert a is not None and a == models_digest(View({("h", "v"): "1", ("h", "d"): "2"}), c)
    assert a != models_digest(View({("h", "v"): "1", ("h", "d"): "3"}), c)
    assert models_digest(View({("h", "v"): "1"}), c) is None
    assert models_digest(object(), c) is None
    assert models_digest(View({}), Comparison("k", 8, "rho < 0.3", 0.3, 0.1)) is None


def test_the_models_digest_names_the_evaluation_and_refuses_a_random_method():
    """Another test set or protocol is another basis (a new draw of test images is sampling
    noise, not the user's change), and a method tagged not deterministic gets no digest, so
    the gate holds it to the record's threshold."""
    from salcheck.science.findings import Comparison
    from salcheck.science.verdicts import models_digest
    from salcheck.store.tiers import get_tier

    class Method:
        def __init__(self, deterministic):
            self.deterministic = deterministic

        def tag(self, name):
            return {"deterministic": self.deterministic}[name]

    class View:
        def __init__(self, tier="ci", protocol="boxes", deterministic=True):
            self.tier, self.protocol_id = get_tier(tier), {"evaluation": protocol}
            self.method = Method(deterministic)

        def weights_digest(self, dataset, variant):
            return "w"

    c = Comparison("k", 1, "x > y", ("homogeneous", "v", "b"), ("homogeneous", "default", "b"))
    base = models_digest(View(), c)
    assert base is not None and base == models_digest(View(), c)
    assert models_digest(View(tier="paper"), c) != base  # another test set
    assert models_digest(View(protocol="drawn"), c) != base
    assert models_digest(View(deterministic=False), c) is None


def test_with_ten_seeds_a_null_that_beats_the_method_contradicts():
    """The contradicted branch of the null rule (a null beats the method at alpha / number of
    nulls) cannot fire on 5 seeds (least p 1/32 > 0.0125) and fires on 10 (least p 1/1024)."""
    from salcheck.science.stats import beyond_nulls

    method = [0.1, 0.2, 0.0, 0.1, 0.3, 0.2, 0.1, 0.0, 0.2, 0.1]
    nulls = {n: [1.0 + 0.1 * i for i in range(10)] for n in ("random", "sobel", "constant", "untrained")}
    assert beyond_nulls(method, nulls).outcome == "contradicted"
    five = beyond_nulls(method[:5], {n: d[:5] for n, d in nulls.items()})
    assert five.outcome == "inconclusive" and min(v.p_reverse for v in five.per_null.values()) == 1 / 32


def test_recorded_replicated():
    assert gate(entry(REPLICATED), other_run("strong"), SEEDS).status == "pass"
    held = gate(entry(REPLICATED), other_run("near"), SEEDS)
    assert held.status == "pass" and held.changed
    assert "CHANGED from replicated to inconclusive" in held.message and "gate holds" in held.message
    fell = gate(entry(REPLICATED), other_run("weak"), SEEDS)
    assert (
        fell.status == "fail"
        and "FELL from replicated beyond the gate (p > 0.2, on retrained models" in fell.message
    )
    assert "recorded replicated on seeds [0, 1, 2, 3, 4] (p = 0.0312)" in fell.message
    assert gate(entry(REPLICATED), other_run("strong", -1), SEEDS).status == "fail"
    assert gate(entry(REPLICATED), UNDECIDABLE, SEEDS).status == "fail"


def test_recorded_contradicted():
    still = gate(entry(CONTRADICTED), other_run("strong", -1), SEEDS)
    assert still.status == "xfail" and not still.changed
    moved = gate(entry(CONTRADICTED), other_run("near"), SEEDS)
    assert moved.status == "xfail" and moved.changed
    assert "CHANGED from contradicted to inconclusive" in moved.message
    stale = gate(entry(CONTRADICTED), other_run("strong"), SEEDS)
    assert stale.status == "fail" and "STALE record" in stale.message


def test_recorded_inconclusive():
    assert gate(entry(INCONCLUSIVE), other_run("near"), SEEDS).status == "xfail"
    worse = gate(entry(INCONCLUSIVE), other_run("strong", -1), SEEDS)
    assert worse.status == "fail" and worse.changed and "now CONTRADICTED" in worse.message
    better = gate(entry(INCONCLUSIVE), other_run("strong"), SEEDS)
    assert better.status == "pass" and better.changed
    assert "CHANGED from inconclusive to replicated" in better.message


def test_recorded_undecidable():
    again = undecidable("b > b†", "stopped at the cap while improving", [1.0] * 5, [1.1] * 5)
    still = gate(entry(UNDECIDABLE), again, SEEDS)
    assert still.status == "xfail" and not still.changed
    assert "stopped at the cap" in still.message and "the cell did not learn" in still.message
    assert gate(entry(UNDECIDABLE), REPLICATED, SEEDS).status == "pass"
    assert gate(entry(UNDECIDABLE), CONTRADICTED, SEEDS).status == "fail"
    now = gate(entry(UNDECIDABLE), NEAR, SEEDS)
    assert now.status == "xfail" and now.changed and "recorded undecidable" in now.message


def test_without_a_record_a_finding_must_replicate_at_alpha():
    assert gate(None, REPLICATED, SEEDS).status == "pass"
    result = gate(None, NEAR, SEEDS)
    assert result.status == "fail" and "no record: must replicate at alpha; it is inconclusive" in (
        result.message
    )


def test_gate_messages_carry_the_numbers_and_reject_unknown_outcomes():
    for e in (entry(REPLICATED), entry(CONTRADICTED), None):
        assert "p = " in gate(e, other_run("near"), SEEDS).message
    with pytest.raises(InvalidArgument, match=r"recorded outcome must be one of .*got 'holds'"):
        gate({"outcome": "holds"}, REPLICATED, SEEDS)


class FakeView:
    tier = SimpleNamespace(name="ci")
    method_name = "Vanilla gradient"
    seeds = (0, 1, 2, 3, 4)
    protocol_id = "training: early stopping; evaluation: test v1"

    def findings_available(self, comparisons):
        from salcheck.science.findings import FindingVerdict
        from salcheck.science.stats import NullRule

        flat = paired_test([2.0] * 5, [1.0] * 5, claim="zero spread")
        blocked = NullRule("beyond the nulls", "inconclusive", {"sobel": INCONCLUSIVE})
        return {
            # F1 on homogeneous: the method's own test replicated, the null rule blocked it.
            "F1-homogeneous": FindingVerdict(REPLICATED, {}, blocked, INCONCLUSIVE),
            "F1-heterogeneous": FindingVerdict(UNDECIDABLE, {}, None, UNDECIDABLE),
            "F2-b": None,
            "F2-c": FindingVerdict(flat, {}, None, flat),
        }


def test_a_record_names_tier_method_seeds_protocol_and_commit(tmp_path):
    record = build_record(FakeView(), {"F1-homogeneous": Comparison("k", 1, "c", 1.0, 1.0)})
    assert record["record_version"] == RECORD_VERSION == 3
    assert (record["tier"], record["method"], record["seeds"]) == ("ci", "Vanilla gradient", SEEDS)
    assert record["protocol"] == FakeView.protocol_id and "git_commit" in record
    assert set(record["verdicts"]) == {"F1-homogeneous", "F1-heterogeneous", "F2-c"}
    f1 = record["verdicts"]["F1-homogeneous"]
    assert f1["seeds"] == SEEDS and f1["digest"] == INCONCLUSIVE.digest()
    assert (f1["outcome"], f1["own_outcome"]) == ("inconclusive", "replicated")
    assert record["verdicts"]["F2-c"]["own_outcome"] is None  # no null rule: nothing blocked it
    assert record["verdicts"]["F1-heterogeneous"]["reason"] == "the cell did not learn"
    json.dumps(record, allow_nan=False)  # no NaN, no inf: an undecidable, a zero spread
    path = write_record(FakeView(), tmp_path)
    assert path.name == "ci-vanilla-gradient.json"
    assert read_record(path)["verdicts"]["F2-c"]["effect_size"] is None


def test_record_names_and_reading(tmp_path):
    assert record_name("ci", "Vanilla gradient") == "ci-vanilla-gradient.json"
    assert recorded_outcomes(tmp_path, "ci", "Vanilla gradient") == ({}, ())
    write_record(FakeView(), tmp_path)
    outcomes, seeds = recorded_outcomes(tmp_path, "ci", "Vanilla gradient")
    assert outcomes == {
        "F1-homogeneous": "inconclusive",
        "F1-heterogeneous": "undecidable",
        "F2-c": "replicated",
    }
    assert seeds == tuple(FakeView.seeds)  # the record's, though the undecidable entry has none


def test_claims_on_the_model_alone_take_the_reference_record_whatever_the_method(tmp_path):
    ref = {
        "A-x": entry(REPLICATED),  # criterion a only: the same numbers for every method
        "F1-x": entry(INCONCLUSIVE),  # reads the method's maps
    }
    (tmp_path / record_name("ci", "Vanilla gradient")).write_text(
        json.dumps({"record_version": RECORD_VERSION, "gate_alpha": 0.1, "verdicts": ref})
    )
    ref = {k: {**v, "gate_alpha": 0.1} for k, v in ref.items()}  # each entry carries its record's
    comparisons = {
        "A-x": Comparison("A-x", 7, "a > 0.8", ("homogeneous", "default", "a"), 0.8, scale="diff"),
        "F1-x": Comparison(
            "F1-x", 1, "b > b†", ("homogeneous", "default", "b"), ("homogeneous", "default", "b_dagger")
        ),
    }
    mine = method_entries(tmp_path, "ci", "my method", "Vanilla gradient", comparisons)
    assert mine == {"A-x": ref["A-x"]}  # F1 stays unrecorded for a new method: it must replicate
    assert method_entries(tmp_path, "ci", "Vanilla gradient", "Vanilla gradient", comparisons) == ref


GOOD = {"outcome": "replicated", "seeds": [0, 1], "digest": "0" * 16}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "JSONDecodeError"),
        ("{", "JSONDecodeError"),
        ("[]", "AttributeError"),
        (json.dumps({"record_version": 1, "verdicts": {}}), "record_version 1, expected 3"),
        (json.dumps({"record_version": RECORD_VERSION}), "KeyError"),
        (
            json.dumps(
                {"record_version": RECORD_VERSION, "verdicts": {"k": {**GOOD, "outcome": "holds"}}}
            ),
            "holds",
        ),
        (
            json.dumps({"record_version": RECORD_VERSION, "verdicts": {"k": {"outcome": "replicated"}}}),
            "lacks",
        ),
    ],
)
def test_bad_records_name_the_file(tmp_path, text, why):
    path = tmp_path / "ci-x.json"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=rf"verdict record .*ci-x.json is unreadable .*{why}"):
        read_record(path)

import json
import math

import pytest

from salcheck.errors import InvalidArgument
from salcheck.science.stats import paired_test
from salcheck.science.verdicts import GATE_ALPHA, expected_outcomes, gate, read_record, record_name

D = {  # per-seed log differences -> a chosen p-value band
    "strong": [2.3, 2.2, 2.5, 2.4, 2.1],  # p far below alpha
    "near": [0.5, -0.2, 0.4, -0.1, 0.3],  # alpha <= p < GATE_ALPHA
    "weak": [0.5, -0.4, 0.3, -0.3, 0.1],  # p >= GATE_ALPHA
}


def verdict(kind, sign=1.0):
    return paired_test([math.exp(sign * d) for d in D[kind]], [1.0] * 5, claim=kind)


def test_the_bands_are_what_the_tests_assume():
    assert verdict("strong").p_forward < 0.01
    assert 0.05 <= verdict("near").p_forward < GATE_ALPHA
    assert verdict("weak").p_forward >= GATE_ALPHA


def test_gate_for_a_recorded_replication():
    assert gate("replicated", verdict("strong"))[0]
    ok, message = gate("replicated", verdict("near"))
    assert ok and "inconclusive at alpha 0.05" in message and "gate holds" in message
    ok, message = gate("replicated", verdict("weak"))
    assert not ok and "FELL from replicated" in message
    assert not gate("replicated", verdict("strong", -1))[0]


def test_without_a_record_a_finding_must_replicate_at_alpha():
    assert gate(None, verdict("strong"))[0]
    assert not gate(None, verdict("near"))[0]


def test_record_names_and_reading(tmp_path):
    assert record_name("ci", "Vanilla gradient") == "ci-vanilla-gradient.json"
    assert expected_outcomes(tmp_path, "ci", "Vanilla gradient") == {}
    path = tmp_path / "ci-vanilla-gradient.json"
    path.write_text(
        json.dumps(
            {
                "record_version": 1,
                "verdicts": {
                    "F1-homogeneous": {"outcome": "replicated"},
                    "F3-x": {"outcome": "contradicted"},
                },
            }
        )
    )
    assert expected_outcomes(tmp_path, "ci", "Vanilla gradient") == {
        "F1-homogeneous": "replicated",
        "F3-x": "contradicted",
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        json.dumps({"record_version": 0, "verdicts": {}}),
        json.dumps({"record_version": 1}),
        json.dumps({"record_version": 1, "verdicts": {"k": {"outcome": "holds"}}}),
    ],
)
def test_bad_records_name_the_file(tmp_path, text):
    path = tmp_path / "ci-x.json"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=r"verdict record .*ci-x.json is unreadable"):
        read_record(path)

"""The check suite on the tiny tier: every check runs, and the constant map fails what it must."""

import json

import pytest

from salcheck.checks import (
    CHECKS,
    SaliencyCheckFailed,
    check_saliency_method,
    compare_baseline,
    save_baseline,
)
from salcheck.errors import InvalidArgument
from salcheck.saliency import ConstantMap, VanillaGradient
from salcheck.store.files import Store

pytestmark = pytest.mark.slow  # trains networks


@pytest.fixture(scope="module")
def where(tmp_path_factory, tiny):
    return {"tier": tiny, "store": Store(tmp_path_factory.mktemp("checks"))}


def test_every_check_runs_and_reports_its_numbers(where, capfd):
    results = check_saliency_method(VanillaGradient(), on_fail=None, **where)
    # a fresh store: what is to be computed is said before anything trains
    said = capfd.readouterr().err
    assert "[salcheck] computing " in said and " models" in said
    assert said.index("[salcheck] computing ") < said.index("[salcheck] done")
    assert [r.check for r in results] == [c.__name__ for c in CHECKS]
    beats = next(r for r in results if r.check == "check_beats_chance")
    assert {"b", "c", "p_b", "p_c"} <= set(beats.numbers)
    assert all(r.claim for r in results)


def test_constant_map_fails_chance_and_randomisation(where):
    results = {r.check: r for r in check_saliency_method(ConstantMap(), on_fail=None, **where)}
    assert not results["check_beats_chance"].passed  # b = c = 1 exactly
    assert not results["check_randomisation_sensitivity"].passed  # rank correlation undefined
    assert results["check_deterministic"].passed and results["check_shape_and_dtype"].passed
    with pytest.raises(SaliencyCheckFailed, match="Constant map / check_beats_chance"):
        check_saliency_method(ConstantMap(), **where)


def test_unknown_expected_check_and_bad_on_fail(where):
    with pytest.raises(InvalidArgument, match="unknown check"):
        check_saliency_method(ConstantMap(), expected_failed_checks={"check_x": "?"}, **where)
    with pytest.raises(InvalidArgument, match="on_fail must be"):
        check_saliency_method(ConstantMap(), on_fail="loud", **where)


def test_baseline_gate(where, tmp_path):
    path = tmp_path / "b.json"
    data = save_baseline(VanillaGradient(), path, **where)
    assert compare_baseline(VanillaGradient(), path, **where).passed
    raised = tmp_path / "raised.json"
    scores = {k: [abs(v) * 10 + 10 for v in vals] for k, vals in data["scores"].items()}
    raised.write_text(json.dumps({**data, "scores": scores}))
    assert not compare_baseline(VanillaGradient(), raised, **where).passed
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InvalidArgument, match="cannot read baseline"):
        compare_baseline(VanillaGradient(), tmp_path / "bad.json", **where)


class _LyingUnsigned(VanillaGradient):
    """Signed gradients that declare themselves unsigned and non-deterministic."""

    name = "lying unsigned"
    signed = False
    deterministic = False


def test_tags_select_the_checks(where):
    results = {r.check: r for r in check_saliency_method(_LyingUnsigned(), on_fail=None, **where)}
    assert results["check_deterministic"].skipped == (
        "needs a method tagged deterministic=True; this one declares deterministic=False"
    )
    assert results["check_signed_maps_take_both_signs"].state == "SKIP"
    assert results["check_unsigned_maps_are_nonnegative"].state == "FAIL"  # its maps go negative
    honest = {r.check: r for r in check_saliency_method(VanillaGradient(), on_fail=None, **where)}
    assert honest["check_signed_maps_take_both_signs"].state == "PASS"
    assert honest["check_unsigned_maps_are_nonnegative"].skipped
    assert {r.state for r in check_saliency_method(ConstantMap(), on_fail=None, **where)} >= {"SKIP"}

"""The check suite on the built-in methods (salcheck.checks), on the tier's reference models.

The vanilla gradient passes every check; each null map fails the checks it should fail:
iid random maps and the constant map know nothing of the model or the atrophy, and the Sobel
edge map follows the image, not the model.
"""

import json

import pytest

from salcheck.checks import (
    CHECKS,
    SaliencyCheckFailed,
    check_saliency_method,
    compare_baseline,
    parametrize_with_checks,
    save_baseline,
)
from salcheck.cli import main
from salcheck.saliency import ConstantMap, RandomMap, SobelEdgeMap, VanillaGradient

pytestmark = pytest.mark.slow  # trains networks

VANILLA = VanillaGradient()

#: Checks each null method must fail (and why); every other check may pass or fail.
MUST_FAIL = {
    "Random map": {
        "check_beats_chance",
        "check_localises",
        "check_randomisation_sensitivity",
        "check_stable_across_seeds",
    },
    "Constant map": {
        "check_beats_chance",
        "check_localises",
        "check_randomisation_sensitivity",
        "check_stable_across_seeds",
    },
    "Sobel edge map": {"check_localises", "check_randomisation_sensitivity"},
}


@pytest.fixture(scope="module")
def ci(salcheck_tier, salcheck_store):
    return {"tier": salcheck_tier, "store": salcheck_store}


def test_vanilla_gradient_passes_every_check(ci):
    results = check_saliency_method(VANILLA, **ci)
    assert [r.check for r in results] == [c.__name__ for c in CHECKS]
    assert all(r.passed for r in results), "\n".join(r.message() for r in results)


@pytest.mark.parametrize("method", [RandomMap(), ConstantMap(), SobelEdgeMap()], ids=lambda m: m.name)
def test_null_maps_fail_what_they_should(ci, method):
    results = check_saliency_method(method, on_fail=None, **ci)
    failed = {r.check for r in results if not r.passed}
    assert MUST_FAIL[method.name] <= failed, "\n".join(r.message() for r in results)
    with pytest.raises(SaliencyCheckFailed, match=method.name):
        check_saliency_method(method, **ci)
    # Declared as expected, the same failures do not raise.
    check_saliency_method(method, expected_failed_checks=dict.fromkeys(failed, "null map"), **ci)


def test_baseline_gate_fails_on_a_worse_method_and_a_raised_bar(ci, tmp_path):
    """A baseline is a regression gate: it fails for a method that scores worse, and for the
    same method once the recorded scores are raised beyond the tolerance."""
    path = tmp_path / "baseline.json"
    data = save_baseline(VANILLA, path, **ci)
    assert compare_baseline(VANILLA, path, **ci).passed
    assert not compare_baseline(RandomMap(), path, **ci).passed
    raised = tmp_path / "raised.json"
    raised.write_text(
        json.dumps({**data, "scores": {k: [3 * v for v in vals] for k, vals in data["scores"].items()}})
    )
    result = compare_baseline(VANILLA, raised, **ci)
    assert not result.passed, result.message()


def test_check_cli_exits_nonzero_for_a_null_map(salcheck_tier, salcheck_store, capsys):
    args = ["--tier", salcheck_tier.name, "--store", str(salcheck_store.root)]
    assert main(["check", "salcheck.saliency:ConstantMap", *args]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] Constant map / check_beats_chance" in out
    assert "failed (check_beats_chance" in out


@parametrize_with_checks([VANILLA])
def test_parametrize_with_checks(method, check, salcheck_tier, salcheck_store):
    check(method, tier=salcheck_tier, store=salcheck_store)

"""Shared settings of the property suite (the salcheck pytest plugin provides the fixtures).

Findings of the reference study that the engine measured NOT to replicate in the ci tier
with the study's vanilla gradient are listed in ``NOT_REPLICATED`` with the numbers measured:
their tests run as strict xfails there (an unexpected pass fails the suite), and as plain
tests at the paper tier or for any other saliency method.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings

#: key -> the measured numbers (ci tier, vanilla gradient, seeds 0, 1, 2; x vs y per seed).
NOT_REPLICATED: dict[str, str] = {
    "F3-Noise-b": "b with Noise [29.1, 10.2, 11.1] vs default [11.9, 8.89, 7.89]: higher on "
                  "3 of 3 seeds but mean log ratio +0.459, 95% lower bound -0.197, p = 0.089",
    "F3-Noise-b_dagger": "b† with Noise [1.21, 0.738, 0.936] vs default [1.78, 0.567, 0.477]: "
                         "mean log ratio +0.184, lower bound -0.718, p = 0.31",
    "F3-CropPad-b_dagger": "b† with CropPad [0.219, 0.317, 0.245] vs default [1.78, 0.567, "
                           "0.477]: lower on 3 of 3 seeds, mean log ratio -1.11, p = 0.93",
    "F3-Erasing-b_dagger": "b† with Erasing [0.8, 0.568, 0.273] vs default [1.78, 0.567, 0.477]:"
                           " mean log ratio -0.452, p = 0.90",
    "F4-c_dagger": "c† with L1Norm [0.374, 0.504, 0.416] vs CE [2.09, 2.09, 2.24]: lower on 3 "
                   "of 3 seeds (mean log ratio -1.61): L1Norm's atypical maps collapse "
                   "everywhere, as its b† does (poster c† 13.16)",
    "F5-Noise": "b with Noise [29.1, 10.2, 11.1] vs Noise+L1 [8.05, 7.31, 9.26]: higher on 3 of "
                "3 seeds but mean log ratio +0.602, lower bound -0.404, p = 0.11",
    "F5-L1": "b with L1 [10.9, 4.97, 6.36] vs Noise+L1 [8.05, 7.31, 9.26]: higher on 1 of 3 "
             "seeds, mean log ratio -0.154, p = 0.72",
}


def pytest_configure(config: pytest.Config) -> None:
    tier = config.getoption("--salcheck-tier", default="ci")
    # Derandomized: reruns draw the same cohorts, so they hit the store. No shrinking: each
    # example trains a model per seed, and a failure is reported with its numbers as drawn.
    settings.register_profile(
        "salcheck-properties", derandomize=True, database=None, deadline=None,
        max_examples=2 if tier == "ci" else 5,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture
def expect_replication(request, salcheck_tier, salcheck_method):
    """Call with a key of NOT_REPLICATED: marks the test a strict xfail where it applies."""

    def mark(key: str) -> None:
        reason = NOT_REPLICATED.get(key)
        if reason and salcheck_tier.name == "ci" and salcheck_method == "vanilla":
            request.applymarker(pytest.mark.xfail(strict=True, reason=f"does not replicate: {reason}"))

    return mark


@pytest.fixture
def assert_comparison(expect_replication, salcheck_engine):
    """Call with a key of salcheck.findings.COMPARISONS: decides it, failing with its numbers
    (a strict xfail where NOT_REPLICATED lists the key)."""

    def decide(key: str) -> None:
        expect_replication(key)
        verdict = salcheck_engine.verdict(key)
        assert verdict.holds, verdict.message()

    return decide

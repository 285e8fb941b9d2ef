"""Shared settings of the property suite (the salcheck pytest plugin provides the fixtures).

What each finding is expected to do at a tier is data: ``properties/verdicts/<tier>-<method>.json``,
written from the store by ``salcheck verdicts --write properties/verdicts`` (see
``salcheck.science.verdicts`` for the gate that reads it). Nothing here is typed in by hand.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings


def pytest_configure(config: pytest.Config) -> None:
    tier = config.getoption("--salcheck-tier", default="ci")
    # Derandomized: reruns draw the same cohorts, so they hit the store. No shrinking: each
    # example trains a model per seed, and a failure is reported with its numbers as drawn.
    settings.register_profile(
        "salcheck-properties",
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=2 if tier == "ci" else 5,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )

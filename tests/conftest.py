import pytest
from hypothesis import HealthCheck, settings

from salcheck.store.tiers import Tier

pytest_plugins = ["pytester"]

settings.register_profile(
    "unit", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("unit")

#: A tier small enough for unit tests: 32 x 32, 12 images per class, one epoch, two seeds.
TINY = Tier("tiny", 32, {"homogeneous": 12, "heterogeneous": 12, "large": 24}, 6, 1, 8, (0, 1))


@pytest.fixture(autouse=True)
def _no_zoo(monkeypatch):
    """Unit tests compute into their own stores: no committed zoo answers for them (the zoo's
    own tests name theirs)."""
    monkeypatch.setenv("SALCHECK_ZOO", "none")


@pytest.fixture(scope="session")
def tiny():
    return TINY

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


@pytest.fixture(autouse=True, scope="module")
def _no_zoo():
    """Unit tests compute into their own stores: no committed zoo answers for them (the zoo's
    own tests name theirs). Module-scoped, so it is in force before a module's own store
    fixtures are built, and lifted after the module (the property suite reads the zoo)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SALCHECK_ZOO", "none")
        yield


@pytest.fixture(scope="session")
def tiny():
    return TINY

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


#: A tier of volumes small enough for unit tests: 32^3, the three default cells (so F2's
#: comparisons are in its grid), two seeds, one epoch.
TINY3D = Tier(
    "tiny3d",
    32,
    {"homogeneous": 8, "heterogeneous": 8, "large": 16},
    4,
    1,
    8,
    (0, 1),
    dims=3,
    grid_cells=(("homogeneous", "default"), ("heterogeneous", "default"), ("large", "default")),
)


@pytest.fixture(scope="session")
def tiny3d_store(tmp_path_factory):
    """TINY3D's report plan (every model, the method and the nulls on each, F8's curves),
    computed once per session into a store of its own (slow: trains 6 small 3-D models; with
    ``batch_models=2``, which volumes answer by training one seed at a time)."""
    from salcheck.engine.plan import execute, report_plan
    from salcheck.store.files import Store

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SALCHECK_ZOO", "none")
        store = Store(tmp_path_factory.mktemp("store3d"))
        execute(report_plan(TINY3D, "vanilla"), store, batch_models=2)
    return store

"""pytest plugin (entry point ``salcheck``): options, fixtures and the ``finding`` marker.

Options: ``--salcheck-tier ci|paper`` (default ci), ``--salcheck-store DIR`` (default
``$SALCHECK_STORE`` or ``~/.cache/salcheck``), ``--salcheck-method MODULE:OBJECT`` (the saliency
method the properties judge; default the study's vanilla gradient). Fixtures:
``salcheck_tier``, ``salcheck_store``, ``salcheck_engine``. This module imports nothing heavy
until a fixture is used.
"""

from __future__ import annotations

import sys

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("salcheck", "salcheck property checks")
    group.addoption("--salcheck-tier", default="ci", choices=("ci", "paper"),
                    help="scale of the simulated study (default ci)")
    group.addoption("--salcheck-store", default=None,
                    help="result store directory (default $SALCHECK_STORE or ~/.cache/salcheck)")
    group.addoption("--salcheck-method", default="vanilla",
                    help="saliency method under test: vanilla or MODULE:OBJECT")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "finding(number, claim): a finding of the reference study, as a property")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("finding"):
        number = mark.args[0] if mark.args else mark.kwargs.get("number")
        claim = mark.args[1] if len(mark.args) > 1 else mark.kwargs.get("claim")
        bad = set(mark.kwargs) - {"number", "claim"}
        if not isinstance(number, int) or not isinstance(claim, str) or bad:
            msg = (f"finding mark needs (number: int, claim: str), got args={mark.args!r} "
                   f"kwargs={mark.kwargs!r}")
            raise pytest.UsageError(msg)


class Engine:
    """Cells of the tier, through the store: computed on first use, free afterwards."""

    def __init__(self, tier, store, method: str) -> None:
        self.tier, self.store, self.method = tier, store, method

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.tier.seeds

    def runs(self, dataset: str, variant: str = "default", **overrides):
        """One RunResult per seed of the tier for (dataset, variant); raises if a cell failed."""
        from .runner import run_grid

        specs = [self.tier.spec(dataset, variant, s, method=self.method, **overrides)
                 for s in self.seeds]
        outcomes = run_grid(specs, self.store, on_cell=lambda o: print(
            f"[salcheck] {o.line()}", file=sys.__stderr__, flush=True))
        failed = [o for o in outcomes if o.status != "done"]
        if failed:
            msg = "; ".join(f"{o.spec.label()}: {o.error}" for o in failed)
            raise RuntimeError(f"cells failed: {msg}")
        return [self.store.get(s) for s in specs]

    def criterion(self, name: str, dataset: str, variant: str = "default", **overrides):
        """The values of one criterion over the tier's seeds."""
        return [r.criteria[name] for r in self.runs(dataset, variant, **overrides)]

    def verdict(self, key: str):
        """Decide the comparison ``key`` of :data:`salcheck.findings.COMPARISONS`."""
        from .findings import COMPARISONS

        return COMPARISONS[key].decide(lambda d, v, k: self.criterion(k, d, v))


@pytest.fixture(scope="session")
def salcheck_tier(request: pytest.FixtureRequest):
    from .tiers import get_tier

    return get_tier(request.config.getoption("--salcheck-tier"))


@pytest.fixture(scope="session")
def salcheck_store(request: pytest.FixtureRequest):
    from .runner import store_root
    from .store import Store

    return Store(store_root(request.config.getoption("--salcheck-store")))


@pytest.fixture(scope="session")
def salcheck_method(request: pytest.FixtureRequest) -> str:
    from .experiment import resolve_method

    name = request.config.getoption("--salcheck-method")
    resolve_method(name)  # fail early on a method that cannot be imported
    return name


@pytest.fixture(scope="session")
def salcheck_engine(salcheck_tier, salcheck_store, salcheck_method) -> Engine:
    return Engine(salcheck_tier, salcheck_store, salcheck_method)

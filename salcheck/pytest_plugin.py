"""pytest plugin (entry point ``salcheck``): options, fixtures and the ``finding`` marker.

Options (declared once with the command line's, in :mod:`salcheck.options`):
``--salcheck-tier``, ``--salcheck-store``, ``--salcheck-method``, ``--salcheck-seeds``,
``--salcheck-workers``, ``--salcheck-device``, ``--salcheck-batch-models``,
``--salcheck-verdicts``.
Fixtures: ``salcheck_tier``, ``salcheck_store``, ``salcheck_method`` (the method under test,
resolved once), ``salcheck_compute`` (executes a plan: the one way a property computes),
``salcheck_view`` (a read-only view of the method's results, after the property suite's plan
is executed), ``salcheck_expected`` (recorded verdicts) and ``assert_comparison``. Nothing
heavy is imported until a fixture is used.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    from salcheck.options import add_pytest_options

    add_pytest_options(parser.getgroup("salcheck", "salcheck property checks"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "finding(number, claim): a finding of the reference study, as a property"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("finding"):
        number = mark.args[0] if mark.args else mark.kwargs.get("number")
        claim = mark.args[1] if len(mark.args) > 1 else mark.kwargs.get("claim")
        bad = set(mark.kwargs) - {"number", "claim"}
        if not isinstance(number, int) or not isinstance(claim, str) or bad:
            msg = (
                f"finding mark needs (number: int, claim: str), got args={mark.args!r} "
                f"kwargs={mark.kwargs!r}"
            )
            raise pytest.UsageError(msg)


@pytest.fixture(scope="session")
def salcheck_tier(request: pytest.FixtureRequest) -> Any:
    from salcheck.store.tiers import get_tier

    return get_tier(request.config.getoption("salcheck_tier"))


@pytest.fixture(scope="session")
def salcheck_store(request: pytest.FixtureRequest) -> Any:
    from salcheck.engine.runner import store_root
    from salcheck.store.files import Store

    return Store(store_root(request.config.getoption("salcheck_store")))


@pytest.fixture(scope="session")
def salcheck_method(request: pytest.FixtureRequest) -> Any:
    """The saliency method under test, resolved once (a ``MethodRef``)."""
    from salcheck.saliency.resolve import resolve

    return resolve(request.config.getoption("salcheck_method"))


@pytest.fixture(scope="session")
def salcheck_compute(request: pytest.FixtureRequest, salcheck_store: Any) -> Any:
    """``compute(plan)`` makes the store hold a plan, on the configured workers and device."""
    from salcheck.engine.plan import execute

    opt = request.config.getoption

    def compute(plan: Any) -> list[Any]:
        return execute(
            plan,
            salcheck_store,
            workers=opt("salcheck_workers"),
            device=opt("salcheck_device"),
            batch_models=opt("salcheck_batch_models"),
            on_progress=lambda o: print(f"[salcheck] {o.line()}", file=sys.__stderr__, flush=True),
        )

    return compute


@pytest.fixture(scope="session")
def salcheck_view(
    request: pytest.FixtureRequest,
    salcheck_tier: Any,
    salcheck_store: Any,
    salcheck_method: Any,
    salcheck_compute: Any,
) -> Any:
    """The read-only view of the method's results, once the property suite's plan is held."""
    from salcheck.engine.plan import properties_plan
    from salcheck.store.view import ResultsView

    seeds = request.config.getoption("salcheck_seeds")
    view = ResultsView(salcheck_store, salcheck_tier, salcheck_method, seeds=seeds)
    salcheck_compute(properties_plan(salcheck_tier, salcheck_method, seeds=view.seeds))
    return view


@pytest.fixture(scope="session")
def salcheck_expected(request: pytest.FixtureRequest, salcheck_view: Any) -> dict[str, Any]:
    """Recorded verdict per comparison key for this tier and method (empty without a record)."""
    from salcheck.science.verdicts import expected_outcomes

    directory = request.config.getoption("salcheck_verdicts")
    if directory is None:
        directory = Path(str(request.config.rootpath)) / "properties" / "verdicts"
    return expected_outcomes(directory, salcheck_view.tier.name, salcheck_view.method_name)


@pytest.fixture
def assert_comparison(request: pytest.FixtureRequest, salcheck_view: Any, salcheck_expected: Any) -> Any:
    """Call with a key of ``salcheck.science.findings.ALL``: decides it on the view and applies
    the gate for its recorded outcome (a contradicted record is a strict xfail, an inconclusive
    one a non-strict xfail; each says so with its numbers)."""
    from salcheck.science.findings import ALL
    from salcheck.science.verdicts import gate

    def decide(key: str) -> Any:
        if key not in ALL:
            msg = f"unknown comparison {key!r}; see salcheck.science.findings.ALL"
            raise pytest.UsageError(msg)
        expected = salcheck_expected.get(key)
        verdict = salcheck_view.decide(ALL[key])
        if expected in ("contradicted", "inconclusive"):
            request.applymarker(
                pytest.mark.xfail(
                    strict=expected == "contradicted", reason=f"recorded {expected}: {verdict.message()}"
                )
            )
        ok, message = gate(expected, verdict)
        assert ok, message
        return verdict

    return decide

"""pytest plugin (entry point ``salcheck``): options, fixtures and the ``finding`` marker.

Options (declared once with the command line's, in :mod:`salcheck.options`):
``--salcheck-tier``, ``--salcheck-network``, ``--salcheck-store``, ``--salcheck-method``,
``--salcheck-seeds``, ``--salcheck-workers``, ``--salcheck-device``, ``--salcheck-batch-models``,
``--salcheck-no-zoo`` (compute afresh, reading no model zoo), ``--salcheck-verdicts``,
``--salcheck-dose`` (opt in to the whole dose-response study).
``--salcheck-network`` puts every model of the tier on that network (``MODULE:OBJECT[@LAYER]``
for one of the user's own).
Fixtures: ``salcheck_tier``, ``salcheck_store``, ``salcheck_method`` (the method under test,
resolved once), ``salcheck_compute`` (executes a plan: the one way a property computes),
``salcheck_view`` (a read-only view of the method's results, after the property suite's plan
is executed), ``salcheck_recorded`` (record entries), ``salcheck_expected`` (recorded
outcomes), ``assert_comparison`` and ``assert_dose`` (the same gate for the dose-response
verdicts, ``salcheck.studies.dose_record``); verdicts that changed from their record are listed
in the terminal summary. Nothing heavy is imported until a fixture is used.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from salcheck.options import OPTIONS, add_pytest_options, apply_no_zoo
from salcheck.store.files import Store, store_root


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser.getgroup("salcheck", "salcheck property checks"))


def pytest_configure(config: pytest.Config) -> None:
    apply_no_zoo(bool(config.getoption("salcheck_no_zoo", default=False)))
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
    from salcheck.store.tiers import get_tier  # start-up: keeps torch off pytest's collection

    return get_tier(
        request.config.getoption("salcheck_tier"), request.config.getoption("salcheck_network")
    )


@pytest.fixture(scope="session")
def salcheck_store(request: pytest.FixtureRequest) -> Any:
    return Store(store_root(request.config.getoption("salcheck_store")))


@pytest.fixture(scope="session")
def salcheck_method(request: pytest.FixtureRequest) -> Any:
    """The saliency method under test, resolved once (a ``MethodRef``)."""
    from salcheck.saliency.resolve import resolve  # start-up: keeps torch off pytest's collection

    return resolve(request.config.getoption("salcheck_method"))


@pytest.fixture(scope="session")
def salcheck_compute(request: pytest.FixtureRequest, salcheck_store: Any) -> Any:
    """``compute(plan)`` makes the store hold a plan, on the configured workers and device."""
    from salcheck.engine.plan import execute  # start-up: keeps torch off pytest's collection

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
    from salcheck.engine.plan import properties_plan  # start-up: keeps torch off pytest's collection
    from salcheck.saliency.resolve import null_refs  # start-up: keeps torch off pytest's collection
    from salcheck.store.view import ResultsView  # start-up: keeps torch off pytest's collection

    seeds = request.config.getoption("salcheck_seeds")
    view = ResultsView(salcheck_store, salcheck_tier, salcheck_method, seeds=seeds, nulls=null_refs())
    salcheck_compute(properties_plan(salcheck_tier, salcheck_method, seeds=view.seeds))
    return view


def _verdicts_dir(request: pytest.FixtureRequest) -> Path:
    """``--salcheck-verdicts``, else the checkout's ``properties/verdicts``, else the records
    shipped in the installed package (``salcheck/properties/verdicts``)."""
    directory = request.config.getoption("salcheck_verdicts")
    if directory is not None:
        return Path(directory)
    checkout = Path(str(request.config.rootpath)) / "properties" / "verdicts"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "properties" / "verdicts"


@pytest.fixture(scope="session")
def salcheck_recorded(request: pytest.FixtureRequest, salcheck_view: Any) -> dict[str, dict[str, Any]]:
    """Record entry per comparison key for this tier and method (empty without a record); a
    claim on the model alone (criterion a) takes the tier's reference method's record, since
    its numbers are the same for every method."""
    from salcheck.saliency.resolve import resolve  # start-up: keeps torch off pytest's collection
    from salcheck.science.findings import ALL  # start-up: keeps torch off pytest's collection
    from salcheck.science.verdicts import (  # start-up: keeps torch off pytest's collection
        method_entries,
        tier_tag,
    )

    view = salcheck_view
    reference = resolve(OPTIONS["method"].default).name
    return method_entries(_verdicts_dir(request), tier_tag(view.tier), view.method_name, reference, ALL)


@pytest.fixture(scope="session")
def salcheck_expected(salcheck_recorded: Any) -> dict[str, str]:
    """Recorded outcome per comparison key for this tier and method (empty without a record)."""
    return {key: entry["outcome"] for key, entry in salcheck_recorded.items()}


CHANGES = pytest.StashKey[list[str]]()


def _apply_gate(request: pytest.FixtureRequest, key: str, result: Any, extra: str = "") -> None:
    """Act on a :class:`salcheck.science.verdicts.GateResult`: fail with the numbers, xfail at
    once, or return; a changed verdict is listed in the terminal summary."""
    message = result.message + (f"\n{extra}" if extra else "")
    request.node.add_report_section("call", "salcheck gate", f"{result.status}: {message}")
    if result.changed:
        request.config.stash.setdefault(CHANGES, []).append(f"{key}: {result.message}")
    if result.status == "fail":
        pytest.fail(message, pytrace=False)
    if result.status == "xfail":
        pytest.xfail(message)


@pytest.fixture
def assert_comparison(request: pytest.FixtureRequest, salcheck_view: Any, salcheck_recorded: Any) -> Any:
    """Call with a key of ``salcheck.science.findings.ALL``: decides it on the view (for the
    method, beyond the null maps) and applies :func:`salcheck.science.verdicts.gate` to its
    record entry: "fail" fails with the numbers, "xfail" xfails at once (so a test stops at its
    first expected failure), "pass" returns the verdict. A changed verdict is also listed in the
    terminal summary."""
    from salcheck.science.findings import ALL  # start-up: keeps torch off pytest's collection
    from salcheck.science.verdicts import gate  # start-up: keeps torch off pytest's collection

    def decide(key: str) -> Any:
        if key not in ALL:
            msg = f"unknown comparison {key!r}; see salcheck.science.findings.ALL"
            raise pytest.UsageError(msg)
        finding = salcheck_view.finding(ALL[key])
        own = finding.own if finding.rule is not None else None
        result = gate(salcheck_recorded.get(key), finding.verdict, list(salcheck_view.seeds), own)
        _apply_gate(request, key, result, finding.rule.message() if finding.rule is not None else "")
        return finding.verdict

    return decide


@pytest.fixture(scope="session")
def salcheck_dose_recorded(
    request: pytest.FixtureRequest, salcheck_view: Any
) -> dict[str, dict[str, Any]]:
    """Dose record entry per key for this tier and method (``<tier>-<method>-dose.json``,
    written by ``salcheck dose --write``; empty without one)."""
    from salcheck.studies import dose_record  # start-up: keeps torch off pytest's collection

    view = salcheck_view
    return dose_record.dose_entries(_verdicts_dir(request), view.tier.name, view.method_name)


@pytest.fixture
def assert_dose(request: pytest.FixtureRequest, salcheck_view: Any, salcheck_dose_recorded: Any) -> Any:
    """Call with (record key, :class:`salcheck.studies.dose_record.GateInput`): the gate of
    :func:`assert_comparison` on a dose-response verdict and its recorded entry (with no
    record it must replicate at alpha: an inconclusive trend is not a pass)."""
    from salcheck.science.verdicts import gate  # start-up: keeps torch off pytest's collection

    def check(key: str, decided: Any) -> Any:
        result = gate(salcheck_dose_recorded.get(key), decided, list(salcheck_view.seeds))
        _apply_gate(request, key, result)
        return decided

    return check


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Every verdict that differs from its record, with its numbers."""
    changes = config.stash.get(CHANGES, [])
    if changes:
        terminalreporter.section("salcheck: verdicts that changed from their record")
        for line in changes:
            terminalreporter.write_line(line)

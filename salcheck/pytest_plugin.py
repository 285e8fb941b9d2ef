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
verdicts, ``salcheck.studies.dose_record``); ``salcheck_tier_view`` and ``assert_comparison_on``
give the same view and gate for a tier a test names (``ci3d``), on that tier's seeds and against
its record, whatever the run's tier. Verdicts that changed from their record are listed in the
terminal summary. Nothing heavy is imported until a fixture is used.
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


def _held_view(tier: Any, store: Any, method: Any, compute: Any, seeds: Any = None) -> Any:
    """A read-only view of ``method``'s results on ``tier`` (beyond the null maps), once
    ``compute`` has made the store hold the property suite's plan on its seeds (None: the
    tier's): the one path of :func:`salcheck_view` and :func:`salcheck_tier_view`."""
    from salcheck.engine.plan import properties_plan  # start-up: keeps torch off pytest's collection
    from salcheck.saliency.resolve import null_refs  # start-up: keeps torch off pytest's collection
    from salcheck.store.view import ResultsView  # start-up: keeps torch off pytest's collection

    view = ResultsView(store, tier, method, seeds=seeds, nulls=null_refs())
    compute(properties_plan(tier, method, seeds=view.seeds))
    return view


@pytest.fixture(scope="session")
def salcheck_view(
    request: pytest.FixtureRequest,
    salcheck_tier: Any,
    salcheck_store: Any,
    salcheck_method: Any,
    salcheck_compute: Any,
) -> Any:
    """The read-only view of the method's results, once the property suite's plan is held."""
    seeds = request.config.getoption("salcheck_seeds")
    return _held_view(salcheck_tier, salcheck_store, salcheck_method, salcheck_compute, seeds)


@pytest.fixture(scope="session")
def salcheck_tier_view(salcheck_store: Any, salcheck_method: Any, salcheck_compute: Any) -> Any:
    """``salcheck_tier_view(name)``: the :func:`salcheck_view` of the tier called ``name``
    (``ci3d``: the properties of ``properties/test_ci3d.py``) on that tier's own seeds and
    network, whatever ``--salcheck-tier``, ``--salcheck-seeds`` and ``--salcheck-network`` say:
    those choose the run's tier. The method, store and compute are the run's; each tier's plan
    is executed once per session."""
    from salcheck.engine.plan import properties_plan  # start-up: keeps torch off pytest's collection
    from salcheck.store.tiers import get_tier  # start-up: keeps torch off pytest's collection

    views: dict[str, Any] = {}

    def view_of(name: str) -> Any:
        if name not in views:
            tier = get_tier(name)
            untrained = [
                t
                for t in properties_plan(tier, salcheck_method).missing(salcheck_store).tasks
                if t.part == "model"
            ]
            if untrained:  # a tier beside the run's is read, never trained, by the suite
                pytest.skip(
                    f"tier {name}: {len(untrained)} of its models are in neither the zoo nor the "
                    f"store; fetch them (salcheck zoo fetch --tier {name} --source REPO --ref "
                    f"COMMIT) or train them (salcheck run --tier {name})"
                )
            views[name] = _held_view(tier, salcheck_store, salcheck_method, salcheck_compute)
        return views[name]

    return view_of


def _verdicts_dir(request: pytest.FixtureRequest) -> Path:
    """``--salcheck-verdicts``, else the test run's own ``properties/verdicts`` (under pytest's
    rootdir), else the records salcheck ships (:data:`salcheck.science.verdicts.SHIPPED`)."""
    from salcheck.science.verdicts import SHIPPED  # start-up: keeps torch off pytest's collection

    directory = request.config.getoption("salcheck_verdicts")
    if directory is not None:
        return Path(directory)
    checkout = Path(str(request.config.rootpath)) / "properties" / "verdicts"
    return checkout if checkout.is_dir() else SHIPPED


def _recorded(request: pytest.FixtureRequest, view: Any) -> dict[str, dict[str, Any]]:
    """Record entry per comparison key for ``view``'s tier and method (empty without a record);
    a claim on the model alone (criterion a) takes the tier's reference method's record, since
    its numbers are the same for every method."""
    from salcheck.saliency.resolve import resolve  # start-up: keeps torch off pytest's collection
    from salcheck.science.findings import ALL  # start-up: keeps torch off pytest's collection
    from salcheck.science.verdicts import (  # start-up: keeps torch off pytest's collection
        method_entries,
        tier_tag,
    )

    reference = resolve(OPTIONS["method"].default).name
    return method_entries(_verdicts_dir(request), tier_tag(view.tier), view.method_name, reference, ALL)


@pytest.fixture(scope="session")
def salcheck_recorded(request: pytest.FixtureRequest, salcheck_view: Any) -> dict[str, dict[str, Any]]:
    """Record entry per comparison key for this tier and method (:func:`_recorded`)."""
    return _recorded(request, salcheck_view)


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


def _decider(request: pytest.FixtureRequest, view: Any, recorded: Any, *, named: bool = False) -> Any:
    """``decide(key)`` of :func:`assert_comparison` on ``view`` gated against ``recorded``;
    ``named``: the view is of a tier named by the test, so its changes are listed with the
    tier's tag."""
    from salcheck.engine.plan import in_grid  # start-up: keeps torch off pytest's collection
    from salcheck.science.findings import ALL  # start-up: keeps torch off pytest's collection
    from salcheck.science.verdicts import gate, models_digest, tier_tag  # start-up: keeps torch off

    tag = tier_tag(view.tier)

    def decide(key: str) -> Any:
        if key not in ALL:
            msg = f"unknown comparison {key!r}; see salcheck.science.findings.ALL"
            raise pytest.UsageError(msg)
        if not in_grid(view.tier, [ALL[key]]):
            grid = set(view.tier.cells())
            lacks = ", ".join(f"{d} {v}" for d, v in ALL[key].cells() if (d, v) not in grid)
            pytest.skip(f"{key}: outside the grid of tier {tag} (no {lacks}); it cannot decide it")
        finding = view.finding(ALL[key])
        own = finding.own if finding.rule is not None else None
        entry = recorded.get(key)
        # The models decided on, only where the record names its own (to compare).
        models = models_digest(view, ALL[key]) if entry is not None and entry.get("models") else None
        result = gate(entry, finding.verdict, list(view.seeds), own, models)
        label = f"{key} on {tag}" if named else key
        _apply_gate(request, label, result, finding.rule.message() if finding.rule is not None else "")
        return finding.verdict

    return decide


@pytest.fixture
def assert_comparison(request: pytest.FixtureRequest, salcheck_view: Any, salcheck_recorded: Any) -> Any:
    """Call with a key of ``salcheck.science.findings.ALL``: decides it on the view (for the
    method, beyond the null maps) and applies :func:`salcheck.science.verdicts.gate` to its
    record entry: "fail" fails with the numbers, "xfail" xfails at once (so a test stops at its
    first expected failure), "pass" returns the verdict. A changed verdict is also listed in the
    terminal summary. A comparison on a cell outside the tier's grid (F3 at ``ci3d``, which
    trains the default cells only) is skipped, naming the key and the tier."""
    return _decider(request, salcheck_view, salcheck_recorded)


@pytest.fixture
def assert_comparison_on(request: pytest.FixtureRequest, salcheck_tier_view: Any) -> Any:
    """``assert_comparison_on(name)``: the :func:`assert_comparison` of the tier called
    ``name`` (:func:`salcheck_tier_view`: its own seeds), gated against that tier's record
    (``<tier>-<method>.json``); its changes are listed as ``KEY on TIER``."""

    def on(name: str) -> Any:
        view = salcheck_tier_view(name)
        return _decider(request, view, _recorded(request, view), named=True)

    return on


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

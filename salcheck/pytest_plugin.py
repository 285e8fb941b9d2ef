"""pytest plugin (entry point ``salcheck``): options, fixtures and the ``finding`` marker.

Options: ``--salcheck-tier ci|paper`` (default ci); ``--salcheck-store DIR`` (default
``$SALCHECK_STORE`` or ``~/.cache/salcheck``); ``--salcheck-method NAME`` (the saliency method
the properties judge: ``vanilla``, the study's gradient, or ``MODULE:OBJECT``);
``--salcheck-seeds S S ...`` (training seeds; default the tier's); ``--salcheck-workers K``
(processes that train missing models; default the CPU count); ``--salcheck-verdicts DIR``
(recorded verdicts; default ``properties/verdicts`` under the rootdir).
Fixtures: ``salcheck_tier``, ``salcheck_store``, ``salcheck_view`` (the one results view),
``salcheck_recorded`` (record entries), ``salcheck_expected`` (recorded outcomes) and
``assert_comparison``; verdicts that changed from their record are listed in the terminal
summary. Nothing heavy is imported until a fixture is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("salcheck", "salcheck property checks")
    group.addoption(
        "--salcheck-tier",
        default="ci",
        choices=("ci", "paper"),
        help="scale of the simulated study (default ci)",
    )
    group.addoption(
        "--salcheck-store",
        default=None,
        help="result store directory (default $SALCHECK_STORE or ~/.cache/salcheck)",
    )
    group.addoption(
        "--salcheck-method",
        default="vanilla",
        help="saliency method under test: a catalogue name (default vanilla) or MODULE:OBJECT",
    )
    group.addoption(
        "--salcheck-device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where missing models train and evaluate (default auto: CUDA when present)",
    )
    group.addoption(
        "--salcheck-seeds",
        type=int,
        nargs="+",
        default=None,
        metavar="SEED",
        help="training seeds (default: the tier's)",
    )
    group.addoption(
        "--salcheck-workers",
        type=int,
        default=max(1, os.cpu_count() or 1),
        help="processes that train missing models, one torch thread each (default: the CPU count)",
    )
    group.addoption(
        "--salcheck-verdicts",
        default=None,
        metavar="DIR",
        help="recorded verdicts (default: properties/verdicts under the rootdir)",
    )


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
def salcheck_tier(request: pytest.FixtureRequest):
    from salcheck.store.tiers import get_tier

    return get_tier(request.config.getoption("--salcheck-tier"))


@pytest.fixture(scope="session")
def salcheck_store(request: pytest.FixtureRequest):
    from salcheck.engine.runner import store_root
    from salcheck.store.files import Store

    return Store(store_root(request.config.getoption("--salcheck-store")))


@pytest.fixture(scope="session")
def salcheck_view(request: pytest.FixtureRequest, salcheck_tier, salcheck_store):
    """The results view of the method under test: every property reads it."""
    from salcheck.store.view import ResultsView

    opt = request.config.getoption
    return ResultsView(
        salcheck_store,
        salcheck_tier,
        opt("--salcheck-method"),
        seeds=opt("--salcheck-seeds"),
        workers=opt("--salcheck-workers"),
        device=opt("--salcheck-device"),
    )


def _verdicts_dir(request: pytest.FixtureRequest) -> Path:
    directory = request.config.getoption("--salcheck-verdicts")
    if directory is None:
        return Path(str(request.config.rootpath)) / "properties" / "verdicts"
    return Path(directory)


@pytest.fixture(scope="session")
def salcheck_recorded(request: pytest.FixtureRequest, salcheck_view) -> dict[str, dict[str, Any]]:
    """Record entry per comparison key for this tier and method (empty without a record)."""
    from salcheck.science.verdicts import recorded_entries

    view = salcheck_view
    return recorded_entries(_verdicts_dir(request), view.tier.name, view.method_name)


@pytest.fixture(scope="session")
def salcheck_expected(salcheck_recorded) -> dict[str, str]:
    """Recorded outcome per comparison key for this tier and method (empty without a record)."""
    return {key: entry["outcome"] for key, entry in salcheck_recorded.items()}


CHANGES = pytest.StashKey[list[str]]()


@pytest.fixture
def assert_comparison(request: pytest.FixtureRequest, salcheck_view, salcheck_recorded):
    """Call with a key of ``salcheck.science.findings.ALL``: decides it on the view and applies
    :func:`salcheck.science.verdicts.gate` to its record entry: "fail" fails with the numbers,
    "xfail" xfails at once (so a test stops at its first expected failure), "pass" returns the
    verdict. A changed verdict is also listed in the terminal summary."""
    from salcheck.science.findings import ALL
    from salcheck.science.verdicts import gate

    def decide(key: str) -> Any:
        if key not in ALL:
            msg = f"unknown comparison {key!r}; see salcheck.science.findings.ALL"
            raise pytest.UsageError(msg)
        verdict = salcheck_view.decide(ALL[key])
        result = gate(salcheck_recorded.get(key), verdict, list(salcheck_view.seeds))
        request.node.add_report_section("call", "salcheck gate", f"{result.status}: {result.message}")
        if result.changed:
            request.config.stash.setdefault(CHANGES, []).append(f"{key}: {result.message}")
        if result.status == "fail":
            pytest.fail(result.message, pytrace=False)
        if result.status == "xfail":
            pytest.xfail(result.message)
        return verdict

    return decide


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Every verdict that differs from its record, with its numbers."""
    changes = config.stash.get(CHANGES, [])
    if changes:
        terminalreporter.section("salcheck: verdicts that changed from their record")
        for line in changes:
            terminalreporter.write_line(line)

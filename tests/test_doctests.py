"""The ``Examples`` in salcheck's docstrings run, module by module, as doctests.

Every module of the package is imported and its docstrings' ``>>>`` examples are run; a failing
example fails the test of its module, with the example, what it expected and what it got. A
module that needs an optional dependency that is not installed (captum, scikit-image,
hypothesis...) is skipped, naming it; an import error inside salcheck itself fails.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
import re
from types import ModuleType

import pytest

import salcheck

MODULES = sorted(m.name for m in pkgutil.walk_packages(salcheck.__path__, "salcheck."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: Public entry points whose docstrings carry a runnable example (the README's tour uses them).
WITH_EXAMPLES = (
    "salcheck.cohort.cohort.make_cohort",
    "salcheck.cohort.cohort.preset",
    "salcheck.saliency.groups.subtype_maps",
    "salcheck.saliency.resolve.resolve",
    "salcheck.store.keys.ModelSpec.key",
    "salcheck.store.tiers.get_tier",
    "salcheck.engine.plan.specs_plan",
    "salcheck.engine.plan.execute",
    "salcheck.science.stats.paired_test",
)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] != "salcheck":
            pytest.skip(f"{name} needs {exc.name}, which is not installed")
        raise


def run_examples(module: ModuleType) -> tuple[doctest.TestResults, str]:
    """Run every docstring example of ``module`` (not of what it imports); (results, report)."""
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    out = io.StringIO()
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__):
        runner.run(test, out=out.write)
    return runner.summarize(verbose=False), out.getvalue()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    results, report = run_examples(_import(name))
    assert results.failed == 0, (
        f"{name}: {results.failed} of {results.attempted} docstring examples failed\n{report}"
    )


@pytest.mark.parametrize("name", MODULES)
def test_examples_sit_under_an_examples_section(name: str) -> None:
    """The API reference (mkdocstrings, Google style) renders ``>>>`` lines as code only inside
    an ``Examples:`` section; elsewhere Markdown reads them as nested quotes."""
    module = _import(name)
    bare = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        if not test.examples:
            continue
        before = (test.docstring or "").splitlines()[: test.examples[0].lineno]
        if not any(re.fullmatch(r"\s*Examples:\s*", line) for line in before):
            bare.append(test.name)
    assert not bare, f"examples outside an `Examples:` section in {bare}"


def test_the_walk_finds_every_module() -> None:
    """The walk reaches subpackages and their modules (else the examples would not run)."""
    assert {"salcheck.cohort.cohort", "salcheck.engine.plan", "salcheck.store.view"} <= set(MODULES)


@pytest.mark.parametrize("path", WITH_EXAMPLES)
def test_public_entry_point_has_an_example(path: str) -> None:
    obj = pkgutil.resolve_name(path)
    tests = doctest.DocTestFinder(recurse=False).find(obj, path, globs={})
    assert tests and tests[0].examples, f"{path} has no runnable `Examples` in its docstring"


def test_a_broken_example_is_reported_with_its_module() -> None:
    """The runner itself fails on a wrong expected output, and says where."""
    module = ModuleType("salcheck_fake")
    module.__doc__ = ">>> 1 + 1\n3\n"
    results, report = run_examples(module)
    assert results == (1, 1)
    assert "salcheck_fake" in report and "Expected:\n    3\nGot:\n    2" in report

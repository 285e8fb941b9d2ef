"""A check suite that runs against any saliency method (after scikit-learn's check_estimator).

The checks themselves live in :mod:`salcheck.engine.checks`; this module runs them (through the
engine's plan, so their results are stored) and offers the front ends.

``check_saliency_method(method)`` runs every named check on reference models of a tier (the
homogeneous default cells, trained once and kept in the store) and returns one
:class:`CheckResult` each; ``parametrize_with_checks([...])`` turns the same checks into
pytest parameters. Each check states its claim in one line and, on failure, names the method,
the check and the numbers. A check may require tags of the method
(:func:`salcheck.saliency.method_tags`): ``check_deterministic`` runs on methods tagged
deterministic, the sign checks on methods tagged signed or unsigned; a method whose tags do
not select a check gets it skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import salcheck.atomic as atomic
from salcheck.engine.checks import (
    CHECKS,
    NULL_METHODS,
    Check,
    CheckResult,
    Evidence,
    SaliencyCheckFailed,
    check_beats_chance,
    check_deterministic,
    check_finite,
    check_localises,
    check_randomisation_sensitivity,
    check_shape_and_dtype,
    check_signed_maps_take_both_signs,
    check_stable_across_seeds,
    check_unsigned_maps_are_nonnegative,
    compute_checks,
    requires,
    results_of,
    run_check,
)
from salcheck.engine.plan import checks_plan, execute
from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.saliency.resolve import method_name, resolve
from salcheck.store.files import Store
from salcheck.store.tiers import Tier, get_tier
from salcheck.store.view import ResultsView, read_checks

if TYPE_CHECKING:
    #: A tier, or its name; a store, or its root (None: the default store).
    TierLike = str | Tier
    StoreLike = str | os.PathLike[str] | Store | None

# --- front ends ----------------------------------------------------------------------------------

_SUITES: dict[tuple[Any, str, str], list[CheckResult]] = {}


def _resolve(tier: TierLike, store: StoreLike) -> tuple[Tier, Store]:
    tier = tier if isinstance(tier, Tier) else get_tier(tier)
    store = store if isinstance(store, Store) else Store(store)
    return tier, store


def run_suite(
    method: Any,
    *,
    tier: TierLike = "ci",
    store: StoreLike = None,
    workers: int | None = None,
    device: str = "cpu",
) -> list[CheckResult]:
    """The check suite's results for ``method``: its plan executed (reference models trained,
    evaluations computed, the suite run and stored, whatever the store lacks), then read."""
    ref = resolve(method)
    t, s = _resolve(tier, store)
    key = (ref, t.name, str(s.root))
    if key not in _SUITES:
        plan = checks_plan(t, ref)
        workers = workers or max(1, os.cpu_count() or 1)
        todo = plan.missing(s)  # say up front what the store and the zoo lack: training is long
        if len(todo):
            _say(f"computing {todo.summary()} into {s.root}")
        execute(plan, s, workers=workers, device=device, on_progress=_progress)
        record = read_checks(s, plan.checks[0].key())
        if record.status != "done":
            msg = f"the check suite of {ref.name} could not run: {record.error}"
            raise SalcheckError(msg)
        _SUITES[key] = results_of(record)
    return _SUITES[key]


def _say(line: str) -> None:
    print(f"[salcheck] {line}", file=sys.__stderr__, flush=True)


def _progress(outcome: Any) -> None:
    _say(outcome.line())


def check_saliency_method(
    method: Any,
    *,
    tier: TierLike = "ci",
    store: StoreLike = None,
    expected_failed_checks: dict[str, str] | None = None,
    on_fail: str | None = "raise",
) -> list[CheckResult]:
    """Run every check on ``method``; ``on_fail`` "raise" raises SaliencyCheckFailed listing the
    unexpected failures, "warn" prints them, None only returns the results."""
    if on_fail not in ("raise", "warn", None):
        msg = f"on_fail must be 'raise', 'warn' or None, got {on_fail!r}"
        raise InvalidArgument(msg)
    expected = expected_failed_checks or {}
    unknown = set(expected) - {c.__name__ for c in CHECKS}
    if unknown:
        msg = f"unknown check(s) {sorted(unknown)}; accepted: {', '.join(c.__name__ for c in CHECKS)}"
        raise InvalidArgument(msg)
    results = run_suite(method, tier=tier, store=store)
    bad = [r for r in results if not r.passed and r.check not in expected]
    if bad and on_fail == "raise":
        raise SaliencyCheckFailed("\n".join(r.message() for r in bad))
    if bad and on_fail == "warn":
        print("\n".join(r.message() for r in bad))
    return results


def parametrize_with_checks(
    methods: Iterable[Any],
    *,
    tier: TierLike = "ci",
    store: StoreLike = None,
    expected_failed_checks: Callable[[Any], dict[str, str]] | None = None,
) -> Any:
    """A ``pytest.mark.parametrize("method, check", ...)`` over every (method, check) pair.

    Call ``check(method)`` in the test (``check(method, tier=..., store=...)`` overrides the
    tier and store given here); it raises SaliencyCheckFailed with the numbers on failure.
    Pairs listed by ``expected_failed_checks(method)`` become strict xfails. Ids read
    ``<method name>-<check name>``.
    """
    import pytest  # optional: pytest (salcheck[properties])

    params = []
    for method in methods:
        expected = expected_failed_checks(method) if expected_failed_checks else {}
        for check in CHECKS:

            def run(
                m: Any, _check: Check = check, *, tier: Any = tier, store: Any = store
            ) -> CheckResult:
                results = {r.check: r for r in run_suite(m, tier=tier, store=store)}
                result = results[_check.__name__]
                if result.skipped:
                    pytest.skip(result.skipped)
                if not result.passed:
                    raise SaliencyCheckFailed(result.message())
                return result

            run.__name__ = check.__name__
            marks = (
                [pytest.mark.xfail(strict=True, reason=expected[check.__name__])]
                if check.__name__ in expected
                else []
            )
            params.append(
                pytest.param(method, run, marks=marks, id=f"{method_name(method)}-{check.__name__}")
            )
    return pytest.mark.parametrize(("method", "check"), params)


def _scores(method: Any, tier: TierLike, store: StoreLike) -> tuple[Tier, dict[str, list[float]]]:
    """The method's per-seed scores on the tier's reference models (computed if missing)."""
    t, s = _resolve(tier, store)
    run_suite(method, tier=t, store=s)
    runs = ResultsView(s, t, resolve(method)).evaluations("homogeneous", "default", "maps")
    return t, {k: [float(r.criteria[k]) for r in runs] for k in BASELINE_SCORES}


__all__ = [
    "CHECKS", "NULL_METHODS", "CheckResult", "Evidence", "SaliencyCheckFailed",
    "check_beats_chance", "check_deterministic", "check_finite", "check_localises",
    "check_randomisation_sensitivity", "check_saliency_method", "check_shape_and_dtype",
    "check_signed_maps_take_both_signs", "check_stable_across_seeds",
    "check_unsigned_maps_are_nonnegative", "compare_baseline", "compute_checks",
    "parametrize_with_checks", "read_baseline", "requires", "run_check", "run_suite",
    "save_baseline",
]  # fmt: skip


# --- baselines ---------------------------------------------------------------------------------

BASELINE_SCORES = ("b", "c", "b_dagger", "c_dagger", "rma_typical")


def save_baseline(
    method: Any, path: str | Path, *, tier: TierLike = "ci", store: StoreLike = None
) -> dict[str, Any]:
    """Store the method's per-seed scores as JSON (written atomically)."""
    t, scores = _scores(method, tier, store)
    data = {
        "method": method_name(method),
        "tier": t.name,
        "network": t.network,
        "seeds": list(t.seeds),
        "scores": {k: scores[k] for k in BASELINE_SCORES},
    }
    atomic.write_text(path, json.dumps(data, indent=2))
    return data


def read_baseline(path: str | Path) -> dict[str, np.ndarray]:
    """The per-seed scores of a baseline file; a bad file raises InvalidArgument naming it."""
    try:
        scores = json.loads(Path(path).read_text())["scores"]
        refs = {k: np.asarray(scores[k], float) for k in BASELINE_SCORES}
        bad = [k for k, v in refs.items() if v.ndim != 1 or len(v) == 0]
        if bad:
            raise ValueError(f"scores {bad} are not non-empty lists of numbers")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = f"cannot read baseline {path}: {exc!r}; write one with `salcheck baseline save`"
        raise InvalidArgument(msg) from exc
    return refs


def compare_baseline(
    method: Any,
    path: str | Path,
    *,
    tolerance: float = 2.0,
    tier: TierLike = "ci",
    store: StoreLike = None,
) -> CheckResult:
    """Fail when a score's mean falls below the baseline mean by more than ``tolerance`` times
    the baseline's seed sd (floored at 5% of the baseline mean, so a zero spread still allows
    rounding)."""
    refs = read_baseline(path)
    _, now = _scores(method, tier, store)
    numbers, ok = {}, True
    for k in BASELINE_SCORES:
        ref = refs[k]
        slack = tolerance * max(
            float(np.std(ref, ddof=1)) if len(ref) > 1 else 0.0, 0.05 * abs(float(ref.mean()))
        )
        cur = float(np.mean(now[k]))
        numbers[k] = f"{cur:.3g} vs baseline {ref.mean():.3g} - {slack:.3g}"
        ok &= cur >= ref.mean() - slack
    return CheckResult(
        method_name(method),
        "check_baseline",
        f"no score below its baseline by more than {tolerance} seed sd",
        ok,
        numbers,
    )

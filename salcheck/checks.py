"""A check suite that runs against any saliency method (after scikit-learn's check_estimator).

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
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import salcheck.atomic as atomic
from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.saliency import ConstantMap, RandomMap, SobelEdgeMap, method_tags
from salcheck.saliency.resolve import method_name
from salcheck.science.findings import SPEARMAN_CEILING
from salcheck.science.stats import paired_test


class SaliencyCheckFailed(SalcheckError, AssertionError):
    """One or more checks failed (and were not expected to)."""


@dataclass(frozen=True)
class CheckResult:
    method: str
    check: str
    claim: str
    passed: bool
    numbers: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why the method's tags do not select this check

    @property
    def state(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.passed else "FAIL"

    def message(self) -> str:
        if self.skipped:
            return f"[SKIP] {self.method} / {self.check}: {self.skipped}"
        nums = "; ".join(f"{k} = {_fmt(v)}" for k, v in self.numbers.items())
        return f"[{self.state}] {self.method} / {self.check}: {self.claim} ({nums})"


def _fmt(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _name(method) -> str:
    return method_name(method)


# --- evidence: the tier's reference models and the method's scores, read through one view ----


class Evidence:
    """What the checks look at: the homogeneous default models of a tier and the method's
    evaluations on them (the shared :func:`salcheck.engine.experiment.evaluate`, through the store)."""

    def __init__(self, method, tier, store) -> None:
        from salcheck.engine.experiment import test_cohort

        self.method, self.tier, self.store = method, tier, store
        self.view = _view(method, tier, store)
        self.models = self.view.models("homogeneous")
        self.test = test_cohort(tier.test())

    def scores(self, method=None) -> dict[str, list[float]]:
        """b, c, b†, c†, relevance mass accuracy and finiteness per seed for ``method``."""
        view = self.view if method is None else _view(method, self.tier, self.store)
        runs = view.scores("homogeneous")
        out: dict[str, list[float]] = {
            k: [float(r.criteria[k]) for r in runs]
            for k in ("b", "c", "b_dagger", "c_dagger", "rma_typical")
        }
        out["finite"] = [
            float(
                all(np.isfinite(m).all() for m in r.maps.values())
                and all(np.isfinite(r.criteria[k]) for k in ("b", "c"))
            )
            for r in runs
        ]
        return out

    def randomisation(self) -> list[float]:
        """Spearman rho of |map| after full cascading randomisation, per seed."""
        return [float(r.randomisation[-1]["spearman"]) for r in self.view.scores("homogeneous")]


_VIEWS: dict[tuple[int, str, str], Any] = {}


def _view(method, tier, store):
    from salcheck.store.view import ResultsView

    key = (id(method), tier.name, str(store.root))
    if key not in _VIEWS:
        # Models train on one one-thread worker per core, as in grids and the property suite,
        # so every path to a model takes the same float path.
        workers = max(1, os.cpu_count() or 1)
        _VIEWS[key] = ResultsView(store, tier, method, whole_tier=False, workers=workers)
    return _VIEWS[key]


# --- the checks --------------------------------------------------------------------------------

Check = Callable[[Evidence], CheckResult]


def requires(**tags: bool) -> Callable[[Check], Check]:
    """Mark a check as selected only for methods with these tags."""

    def mark(check: Check) -> Check:
        check.requires = tags  # type: ignore[attr-defined]
        return check

    return mark


def run_check(check: Check, ev: Evidence) -> CheckResult:
    """``check(ev)``, or a skipped result when the method's tags do not select it."""
    tags = method_tags(ev.method)
    for tag, wanted in getattr(check, "requires", {}).items():
        if tags[tag] != wanted:
            why = f"needs a method tagged {tag}={wanted}; this one declares {tag}={tags[tag]}"
            return CheckResult(_name(ev.method), check.__name__, check.__doc__ or "", True, {}, why)
    return check(ev)


def _sample(ev: Evidence) -> torch.Tensor:
    from salcheck.training.loop import normalise

    return normalise(ev.test.images[ev.test.indices(label=1)[:4]])


def _sample_maps(ev: Evidence, x: torch.Tensor | None = None) -> torch.Tensor:
    """The method's maps (controls node) of ``x`` (default: the sample) on the first model."""
    return torch.as_tensor(ev.method.attribute(ev.models[0][1], _sample(ev) if x is None else x, 0))


def check_shape_and_dtype(ev: Evidence) -> CheckResult:
    """Maps are floating-point and shaped like the images."""
    x = _sample(ev)
    maps = _sample_maps(ev, x)
    ok = tuple(maps.shape) == tuple(x.shape) and maps.dtype.is_floating_point
    return CheckResult(
        _name(ev.method),
        "check_shape_and_dtype",
        check_shape_and_dtype.__doc__ or "",
        ok,
        {"images": tuple(x.shape), "maps": tuple(maps.shape), "dtype": str(maps.dtype)},
    )


@requires(deterministic=True)
def check_deterministic(ev: Evidence) -> CheckResult:
    """The same method, model and images give the same maps twice."""
    x = _sample(ev)
    a, b = _sample_maps(ev, x), _sample_maps(ev, x)
    diff = float((a - b).abs().max()) if a.shape == b.shape else math.inf
    return CheckResult(
        _name(ev.method),
        "check_deterministic",
        check_deterministic.__doc__ or "",
        diff == 0.0,
        {"max_abs_difference": diff},
    )


@requires(signed=True)
def check_signed_maps_take_both_signs(ev: Evidence) -> CheckResult:
    """A method tagged signed gives maps with negative and positive values."""
    maps = _sample_maps(ev)
    lo, hi = float(maps.min()), float(maps.max())
    return CheckResult(
        _name(ev.method),
        "check_signed_maps_take_both_signs",
        check_signed_maps_take_both_signs.__doc__ or "",
        lo < 0 < hi,
        {"min": lo, "max": hi},
    )


@requires(signed=False)
def check_unsigned_maps_are_nonnegative(ev: Evidence) -> CheckResult:
    """A method tagged unsigned (signed=False) gives maps >= 0 everywhere."""
    maps = _sample_maps(ev)
    lo = float(maps.min())
    return CheckResult(
        _name(ev.method),
        "check_unsigned_maps_are_nonnegative",
        check_unsigned_maps_are_nonnegative.__doc__ or "",
        lo >= 0,
        {"min": lo},
    )


def check_finite(ev: Evidence) -> CheckResult:
    """Maps of every test image are finite (no NaN or infinity)."""
    finite = ev.scores()["finite"]
    return CheckResult(
        _name(ev.method),
        "check_finite",
        check_finite.__doc__ or "",
        all(f == 1.0 for f in finite),
        {"finite_per_seed": finite},
    )


def check_beats_chance(ev: Evidence) -> CheckResult:
    """On trained models, b and c exceed chance (1) over seeds (exact sign-flip test, alpha 0.05)."""
    s = ev.scores()
    ones = [1.0] * len(s["b"])
    vb = paired_test(s["b"], ones, claim="b > 1")
    vc = paired_test(s["c"], ones, claim="c > 1")
    return CheckResult(
        _name(ev.method),
        "check_beats_chance",
        check_beats_chance.__doc__ or "",
        vb.holds and vc.holds,
        {"b": s["b"], "c": s["c"], "p_b": vb.p_forward, "p_c": vc.p_forward},
    )


NULL_METHODS = (RandomMap, ConstantMap, SobelEdgeMap)


def check_localises(ev: Evidence) -> CheckResult:
    """Relevance mass in the atrophied typical ROI beats every null map (random, constant, Sobel)."""
    ours = float(np.mean(ev.scores()["rma_typical"]))
    nulls = {cls.name: float(np.mean(ev.scores(_null(cls))["rma_typical"])) for cls in NULL_METHODS}
    numbers = {"rma": ours, **{f"rma {k}": v for k, v in nulls.items()}}
    return CheckResult(
        _name(ev.method),
        "check_localises",
        check_localises.__doc__ or "",
        ours > max(nulls.values()),
        numbers,
    )


_NULLS: dict[type, Any] = {}


def _null(cls):
    return _NULLS.setdefault(cls, cls())


def check_randomisation_sensitivity(ev: Evidence) -> CheckResult:
    """Cascading model randomisation changes the maps: mean Spearman rho of |map| <= 0.3."""
    rho = ev.randomisation()
    ok = all(np.isfinite(rho)) and float(np.mean(rho)) <= SPEARMAN_CEILING
    return CheckResult(
        _name(ev.method),
        "check_randomisation_sensitivity",
        check_randomisation_sensitivity.__doc__ or "",
        ok,
        {"spearman_after": rho},
    )


def check_stable_across_seeds(ev: Evidence) -> CheckResult:
    """Every training seed gives b > 1, and log b varies by less than log 3 (sd over seeds)."""
    b = ev.scores()["b"]
    logs = np.log(np.maximum(b, 1e-300))
    sd = float(np.std(logs, ddof=1)) if len(b) > 1 else 0.0
    return CheckResult(
        _name(ev.method),
        "check_stable_across_seeds",
        check_stable_across_seeds.__doc__ or "",
        min(b) > 1 and sd <= math.log(3),
        {"b": b, "sd_log_b": sd},
    )


CHECKS: tuple[Check, ...] = (
    check_shape_and_dtype,
    check_deterministic,
    check_signed_maps_take_both_signs,
    check_unsigned_maps_are_nonnegative,
    check_finite,
    check_beats_chance,
    check_localises,
    check_randomisation_sensitivity,
    check_stable_across_seeds,
)


# --- front ends ----------------------------------------------------------------------------------

_EVIDENCE: dict[tuple[int, str, str], Evidence] = {}


def _evidence(method, tier, store) -> Evidence:
    key = (id(method), tier.name, str(store.root))
    if key not in _EVIDENCE:
        _EVIDENCE[key] = Evidence(method, tier, store)
    return _EVIDENCE[key]


def _resolve(tier, store):
    from salcheck.store.files import Store
    from salcheck.store.tiers import Tier, get_tier

    tier = tier if isinstance(tier, Tier) else get_tier(tier)
    store = store if isinstance(store, Store) else Store(store)
    return tier, store


def check_saliency_method(
    method,
    *,
    tier="ci",
    store=None,
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
    tier, store = _resolve(tier, store)
    ev = _evidence(method, tier, store)
    results = [run_check(check, ev) for check in CHECKS]
    bad = [r for r in results if not r.passed and r.check not in expected]
    if bad and on_fail == "raise":
        raise SaliencyCheckFailed("\n".join(r.message() for r in bad))
    if bad and on_fail == "warn":
        print("\n".join(r.message() for r in bad))
    return results


def parametrize_with_checks(
    methods: Iterable,
    *,
    tier="ci",
    store=None,
    expected_failed_checks: Callable[[Any], dict[str, str]] | None = None,
):
    """A ``pytest.mark.parametrize("method, check", ...)`` over every (method, check) pair.

    Call ``check(method)`` in the test (``check(method, tier=..., store=...)`` overrides the
    tier and store given here); it raises SaliencyCheckFailed with the numbers on failure.
    Pairs listed by ``expected_failed_checks(method)`` become strict xfails. Ids read
    ``<method name>-<check name>``.
    """
    import pytest

    params = []
    for method in methods:
        expected = expected_failed_checks(method) if expected_failed_checks else {}
        for check in CHECKS:

            def run(m, _check=check, *, tier=tier, store=store):
                t, s = _resolve(tier, store)
                result = run_check(_check, _evidence(m, t, s))
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
            params.append(pytest.param(method, run, marks=marks, id=f"{_name(method)}-{check.__name__}"))
    return pytest.mark.parametrize(("method", "check"), params)


# --- baselines ---------------------------------------------------------------------------------

BASELINE_SCORES = ("b", "c", "b_dagger", "c_dagger", "rma_typical")


def save_baseline(method, path: str | Path, *, tier="ci", store=None) -> dict:
    """Store the method's per-seed scores as JSON (written atomically)."""
    t, s = _resolve(tier, store)
    scores = _evidence(method, t, s).scores()
    data = {
        "method": _name(method),
        "tier": t.name,
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
    method, path: str | Path, *, tolerance: float = 2.0, tier="ci", store=None
) -> CheckResult:
    """Fail when a score's mean falls below the baseline mean by more than ``tolerance`` times
    the baseline's seed sd (floored at 5% of the baseline mean, so a zero spread still allows
    rounding)."""
    refs = read_baseline(path)
    t, s = _resolve(tier, store)
    now = _evidence(method, t, s).scores()
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
        _name(method),
        "check_baseline",
        f"no score below its baseline by more than {tolerance} seed sd",
        ok,
        numbers,
    )

"""The checks of the check suite, each a one-line claim about a saliency method, decided on the
evidence of a tier's reference models (after scikit-learn's ``check_estimator``).

A check may require tags of the method (:func:`salcheck.saliency.method_tags`):
``check_deterministic`` runs on methods tagged deterministic, the sign checks on methods tagged
signed or unsigned; a method whose tags do not select a check gets it skipped, with the reason.
:func:`compute_checks` runs the suite on stored evaluations; the engine stores the record.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from salcheck.errors import SalcheckError
from salcheck.provenance import provenance
from salcheck.saliency import ConstantMap, RandomMap, SobelEdgeMap, method_tags
from salcheck.saliency.resolve import MethodRef, method_name, null_refs, resolve
from salcheck.science.findings import SPEARMAN_CEILING
from salcheck.science.stats import paired_test
from salcheck.store.records import CheckRecord
from salcheck.store.view import read_evaluation, read_network
from salcheck.training.inference import normalise


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


def _name(method: Any) -> str:
    return method_name(method)


# --- evidence: the tier's reference models and the method's evaluations on them ---------------


class Evidence:
    """What the checks look at: the reference models of a check suite (the tier's homogeneous
    default models, loaded from the store) and the stored evaluations of the method and of the
    null maps on them (``salcheck.engine.evaluate``, through the store). Reads only."""

    def __init__(self, suite: Any, store: Any, device: str = "cpu") -> None:
        self.suite, self.store = suite, store
        self.ref: MethodRef = suite.method
        self.method = self.ref.method
        specs = suite.models()
        self.models = [(s, read_network(store, s, device)) for s in specs]
        self.test = suite.tier.test().cohort()

    def _runs(self, ref: MethodRef, part: str) -> list[Any]:
        test = self.suite.tier.test()
        return [
            read_evaluation(self.store, part, s, test, ref, self.suite.protocol) for s, _ in self.models
        ]

    def scores(self, method: Any = None) -> dict[str, list[float]]:
        """b, c, b†, c†, relevance mass accuracy and finiteness per seed for ``method`` (default:
        the method under check; a null map's class instance for the nulls)."""
        runs = self._runs(self.ref if method is None else resolve(method), "maps")
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
        return [float(r.curve[-1]["spearman"]) for r in self._runs(self.ref, "randomisation")]


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


#: The null maps relevance mass is compared against (their maps are evaluated with the suite).
NULL_METHODS = (RandomMap, ConstantMap, SobelEdgeMap)


def check_localises(ev: Evidence) -> CheckResult:
    """Relevance mass in the atrophied typical ROI beats every null map (random, constant, Sobel)."""
    ours = float(np.mean(ev.scores()["rma_typical"]))
    nulls = {
        cls.name: float(np.mean(ev.scores(ref)["rma_typical"]))
        for cls, ref in zip(NULL_METHODS, null_method_refs(), strict=True)
    }
    numbers = {"rma": ours, **{f"rma {k}": v for k, v in nulls.items()}}
    return CheckResult(
        _name(ev.method),
        "check_localises",
        check_localises.__doc__ or "",
        ours > max(nulls.values()),
        numbers,
    )


def null_method_refs() -> list[MethodRef]:
    """The refs of :data:`NULL_METHODS`, in its order: those :func:`null_refs` resolved, once
    per process, for every command and the check suite alike."""
    by_class = {type(ref.method): ref for ref in null_refs()}
    return [by_class[cls] for cls in NULL_METHODS]


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


def compute_checks(suite: Any, store: Any, *, device: str = "cpu") -> CheckRecord:
    """Run every check of :data:`CHECKS` on the suite's evidence; a failure to gather the
    evidence (a missing or failed evaluation) is a failed record with its error."""
    try:
        ev = Evidence(suite, store, device)
        results = [asdict(run_check(check, ev)) for check in CHECKS]
    except Exception as exc:
        return CheckRecord(
            suite.method.name,
            suite.method.fingerprint,
            suite.tier.name,
            [],
            provenance(traceback=traceback.format_exc()),
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
        )
    return CheckRecord(
        suite.method.name,
        suite.method.fingerprint,
        suite.tier.name,
        results,
        provenance(seeds=list(suite.seeds), protocol=suite.protocol.to_dict()),
    )


def results_of(record: CheckRecord) -> list[CheckResult]:
    """The :class:`CheckResult` list of a stored record."""
    return [CheckResult(**{**r, "numbers": dict(r["numbers"])}) for r in record.results]

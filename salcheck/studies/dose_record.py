"""The dose verdicts the property suite gates on, and the record ``salcheck dose --write`` keeps.

The default suite affords a few points of the size route (:func:`property_points`) and reads
F2's trends there (:func:`property_trends`); the whole study adds b†'s trend along each route
and the routes' collapse (:func:`full_decisions`). Each is a :class:`GateInput`, the form
:func:`salcheck.science.verdicts.gate` reads; :func:`write_dose_record` records them beside
the findings' record, in its format, and :func:`dose_entries` reads them back.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import salcheck.atomic as atomic
from salcheck.engine.plan import specs_plan
from salcheck.errors import InvalidArgument
from salcheck.provenance import git_commit
from salcheck.science.dose import CollapseVerdict, TrendVerdict, trend_test
from salcheck.science.dose_crossover import DoseCurve
from salcheck.science.stats import ALPHA
from salcheck.science.verdicts import GATE_ALPHA, RECORD_VERSION, entries_of, read_record, record_name
from salcheck.store.tiers import Tier, check_seeds
from salcheck.store.view import ResultsView
from salcheck.studies.dose import HEADLINE, MAP_KEYS, DoseData, DoseVerdicts, read_curve
from salcheck.studies.dose_grid import DosePoint, size_point

#: Criteria of F2 (more data, better maps) restated as trends on the size route.
F2_KEYS = MAP_KEYS


def property_points(tier: Tier) -> list[DosePoint]:
    """The size-route points the default property suite affords: half the homogeneous size
    (a point of the dose grid), the homogeneous cell and the large cell."""
    half = tier.n_per_class["homogeneous"] // 2
    sizes = sorted({half, tier.n_per_class["homogeneous"], tier.n_per_class["large"]})
    return [size_point(tier, n) for n in sizes]


def points_plan(tier: Tier, method: Any, points: Iterable[DosePoint], seeds: Iterable[int]) -> Any:
    """The models of ``points`` x ``seeds`` and the maps of ``method`` on them (no nulls)."""
    specs = [p.spec(tier, s) for p in points for s in check_seeds(seeds)]
    return specs_plan(tier.test(), specs, methods=[method], parts=("maps",), protocol=tier.evaluation)


def property_curves(view: ResultsView, extra: Iterable[DosePoint] = ()) -> dict[str, DoseCurve]:
    """b, c, b†, c† along :func:`property_points` and ``extra`` points (level: chance, 1)."""
    points = sorted([*property_points(view.tier), *extra], key=lambda p: p.n_atyp)
    counts = [p.n_atyp for p in points]
    if len(set(counts)) != len(counts):
        msg = f"points of one curve need distinct n_atyp, got {counts}"
        raise InvalidArgument(msg)
    return {k: read_curve(view, points, k) for k in F2_KEYS}


@dataclass(frozen=True)
class GateInput:
    """A dose verdict as :func:`salcheck.science.verdicts.gate` reads it (p_forward: the p of
    the claim; digest: of the values decided on)."""

    claim: str
    outcome: str
    p_forward: float | None
    text: str
    values: tuple[float, ...]
    reason: str = ""

    @property
    def holds(self) -> bool:
        return self.outcome == "replicated"

    def digest(self) -> str:
        payload = ",".join(float(v).hex() for v in self.values)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def message(self) -> str:
        return self.text


def trend_gate_input(verdict: TrendVerdict, curve: DoseCurve) -> GateInput:
    values = (*curve.n_atyp.tolist(), *curve.values.ravel().tolist())
    return GateInput(verdict.claim, verdict.outcome, verdict.p_increasing, verdict.message(), values)


def collapse_gate_input(verdict: CollapseVerdict, a: DoseCurve, b: DoseCurve) -> GateInput:
    values = tuple(float(v) for c in (a, b) for v in (*c.n_atyp, *c.values.ravel()))
    return GateInput(verdict.claim, verdict.outcome, verdict.p_equivalent, verdict.message(), values)


def property_key(criterion: str) -> str:
    """Record key of the default suite's trend of ``criterion`` (F2 on the curve)."""
    return f"dose-F2-{criterion}"


def property_trends(view: ResultsView, alpha: float = ALPHA) -> dict[str, GateInput]:
    """record key -> the default suite's trend of each F2 criterion along the size route."""
    return {
        property_key(k): trend_gate_input(trend_test(c, alpha=alpha), c)
        for k, c in property_curves(view).items()
    }


def full_decisions(data: DoseData, verdicts: DoseVerdicts) -> dict[str, GateInput]:
    """record key -> the whole curve's b† trend per route, and the routes' collapse."""
    out = {
        f"dose-trend-{route}-{HEADLINE}": trend_gate_input(verdicts.trends[(HEADLINE, route)], curve)
        for route, curve in data.curves[HEADLINE].items()
    }
    if verdicts.collapse is not None:
        size, share = data.curves[HEADLINE]["size"], data.curves[HEADLINE]["share"]
        out[f"dose-collapse-{HEADLINE}"] = collapse_gate_input(verdicts.collapse, size, share)
    return out


def dose_record_path(directory: str | Path, tier: str, method: str) -> Path:
    """``<directory>/<tier>-<method>-dose.json`` beside the findings' record."""
    return Path(directory) / record_name(tier, method).replace(".json", "-dose.json")


def dose_record(view: ResultsView, decisions: dict[str, GateInput]) -> dict[str, Any]:
    """A record in the findings' format (:mod:`salcheck.science.verdicts`) of ``decisions``."""
    entry: Callable[[GateInput], dict[str, Any]] = lambda g: {
        "outcome": g.outcome,
        "claim": g.claim,
        "p_forward": g.p_forward,
        "message": g.text,
        "seeds": list(view.seeds),
        "digest": g.digest(),
    }
    return {
        "record_version": RECORD_VERSION,
        "tier": view.tier.name,
        "method": view.method_name,
        "seeds": list(view.seeds),
        "protocol": view.protocol_id,
        "alpha": ALPHA,
        "gate_alpha": GATE_ALPHA,
        "git_commit": git_commit(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "verdicts": {k: entry(g) for k, g in sorted(decisions.items())},
    }


def write_dose_record(view: ResultsView, decisions: dict[str, GateInput], directory: str | Path) -> Path:
    path = dose_record_path(directory, view.tier.name, view.method_name)
    atomic.write_text(path, json.dumps(dose_record(view, decisions), indent=1, sort_keys=True) + "\n")
    return path


def dose_entries(directory: str | Path | None, tier: str, method: str) -> dict[str, dict[str, Any]]:
    """key -> recorded dose entry for (tier, method); empty without a record."""
    if directory is None:
        return {}
    path = dose_record_path(directory, tier, method)
    return entries_of(read_record(path)) if path.exists() else {}

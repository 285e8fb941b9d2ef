"""Recorded verdicts: what the engine measured, written by ``salcheck verdicts --write``.

A record holds, for one (tier, saliency method), the verdict at alpha of every comparison in
:data:`salcheck.science.findings.ALL` with its numbers, and names the tier, the method, the seeds,
the protocol and the commit it was decided at. Each entry keeps its seeds and a digest of the
values it was decided on (:meth:`salcheck.science.stats.Verdict.digest`). The property suite
reads it to know what to expect; the report states the verdicts computed from the same store by
the same function.

The gate (:func:`gate`) is a pure function of a record entry and the verdict now:

- same seeds and same digest: the numbers were re-read, not re-measured: "re-read, unchanged",
  with the status of the recorded outcome, never "replicated";
- recorded replicated, decided now on the record's own basis (each entry names it:
  :func:`models_digest`, the models' weights, the evaluation protocol and the test set; equal
  for the zoo's models read anywhere): no training noise and no new test draw lie between the
  two, so it passes while p_forward <= alpha and fails beyond it;
- recorded replicated, on retrained models: passes while p_forward <= the record's
  ``gate_alpha``, fails beyond it; either way it fails
  when now contradicted or when now undecidable. ``gate_alpha`` is set by the tier's stability
  measurement (:func:`salcheck.science.stability.gate_threshold`: the furthest a replicated
  comparison fell on another float path) when one of this tier, method and seeds is written
  beside the records or shipped with the package, else :data:`GATE_ALPHA` (0.2, unmeasured);
- recorded contradicted: expected to fail (xfail) while it does not replicate; fails (a stale
  record) when it now replicates at alpha;
- recorded inconclusive: xfail while inconclusive; FAILS when now contradicted; passes when
  now replicated; a record that was inconclusive only because the null rule blocked it (the
  method's own test replicated: ``own_outcome``) FAILS when the method's own test no longer
  replicates;
- recorded undecidable: xfail with its reason while undecidable; otherwise as inconclusive;
- no record (another method, a new finding), or a record decided on other seeds (refused:
  its verdict is of other models): must replicate at alpha.

Any change of verdict is reported with its numbers (``GateResult.changed``).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import salcheck.atomic as atomic
from salcheck.errors import InvalidArgument
from salcheck.provenance import git_commit
from salcheck.science.findings import ALL, Comparison
from salcheck.science.stability import read_measurement, stability_name
from salcheck.science.stats import ALPHA, OUTCOMES, Verdict

if TYPE_CHECKING:
    from salcheck.store.view import ResultsView

#: The gate's threshold where no stability measurement sets one (see :func:`gate_alpha_for`).
GATE_ALPHA = 0.2


def _shipped() -> Path:
    """Where the records and stability measurements ship: the checkout's
    ``properties/verdicts`` (a source tree, an editable install), else the installed package's
    ``salcheck/properties/verdicts``."""
    here = Path(__file__).resolve()
    checkout = here.parents[2] / "properties" / "verdicts"
    return checkout if checkout.is_dir() else here.parents[1] / "properties" / "verdicts"


SHIPPED = _shipped()
# 3: a finding beyond the null maps records its intersection-union p, and each entry may name
# what it was decided on apart from the method (``models``: :func:`models_digest`).
RECORD_VERSION = 3
STATUSES = ("pass", "fail", "xfail")
#: The status a recorded outcome gives a run that re-reads (or reproduces) it.
EXPECTED_STATUS = {
    "replicated": "pass",
    "contradicted": "xfail",
    "inconclusive": "xfail",
    "undecidable": "xfail",
}
ENTRY_KEYS = ("outcome", "seeds", "digest")


class Decided(Protocol):
    """What the gate reads of a verdict: a findings' :class:`~salcheck.science.stats.Verdict`,
    or a dose-response verdict (``salcheck.studies.dose_record.GateInput``)."""

    @property
    def outcome(self) -> str: ...
    @property
    def p_forward(self) -> float | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def holds(self) -> bool: ...
    def digest(self) -> str: ...
    def message(self) -> str: ...


@dataclass(frozen=True)
class GateResult:
    """What the property suite does with a comparison: pass, fail or xfail, and why."""

    status: str  # one of STATUSES
    message: str
    changed: bool = False  # the verdict differs from the record's (reported with its numbers)


def tier_tag(tier: Any) -> str:
    """What names a tier's records: its tag (the network's name beside the tier's when it is
    not the study's ConvNet), or its name."""
    return str(getattr(tier, "tag", tier.name))


def record_name(tier: str, method: str) -> str:
    """``ci-vanilla-gradient.json``: the tier and the method's name, lower-case, dashed."""
    slug = re.sub(r"[^a-z0-9]+", "-", method.lower()).strip("-")
    return f"{tier}-{slug}.json"


def verdict_dict(
    v: Verdict,
    seeds: Sequence[int] | None = None,
    own: Verdict | None = None,
    models: str | None = None,
) -> dict[str, Any]:
    """A record entry: the outcome, its numbers, the seeds, the values' digest, the outcome
    of the method's own test (``own``: before the null rule; None where no null rule applies)
    and the digest of the models decided on (``models``: :func:`models_digest`)."""
    return {
        "outcome": v.outcome,
        "own_outcome": None if own is None else own.outcome,
        "reason": v.reason,
        "claim": v.claim,
        "n": v.n,
        "k": v.k,
        "mean": v.mean,
        "effect_size": v.effect_size,
        "p_forward": v.p_forward,
        "p_reverse": v.p_reverse,
        "t_p_forward": v.t_p_forward,
        "seeds_for_power": v.power.seeds,
        "seeds_for_power_text": v.power.text,
        "x": list(v.x),
        "y": list(v.y),
        "seeds": None if seeds is None else list(seeds),
        "digest": v.digest(),
        "models": models,
    }


def models_digest(view: Any, c: Comparison) -> str | None:
    """What comparison ``c`` was decided on, apart from the method: the weights of every model
    it reads (its cells, seed by seed: ``view.weights_digest``), the evaluation protocol and the
    test set. Equal digests mean bit-identical models read under the same evaluation, so no
    training noise and no new test draw lie between a verdict and its record. None when the
    view cannot say (a model without its weights' hash, a view without weights), and for a
    method tagged not deterministic (its maps are a new draw each run)."""
    digest = getattr(view, "weights_digest", None)
    method = getattr(view, "method", None)
    if method is not None and hasattr(method, "tag") and method.tag("deterministic") is False:
        return None
    if digest is None or not c.cells():
        return None
    parts = [digest(d, v) for d, v in c.cells()]
    if any(p is None for p in parts):
        return None
    test = getattr(getattr(view, "tier", None), "test", None)
    evaluation = {
        "protocol": getattr(view, "protocol_id", None),
        "test": test().to_dict() if test is not None else None,
    }
    parts.append(json.dumps(evaluation, sort_keys=True, default=str))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def gate_alpha_for(
    tag: str,
    method: str,
    seeds: Sequence[int],
    directory: str | Path | None = None,
    shipped: Path | None = None,
) -> tuple[float, str]:
    """The gate threshold for a record of (tier ``tag``, ``method``, ``seeds``), and where it
    comes from: the stability measurement ``<tag>-stability.json`` in ``directory``, else the one
    shipped (default :data:`SHIPPED`), when it measured this tier, method and seeds; else
    :data:`GATE_ALPHA` (unmeasured)."""
    shipped = SHIPPED if shipped is None else shipped
    for where in ([Path(directory)] if directory is not None else []) + [shipped]:
        path = where / stability_name(tag)
        if not path.exists():
            continue
        m = read_measurement(path)
        if (m["tier"], m["method"], list(m["reference_seeds"])) == (tag, method, list(seeds)):
            return float(m["gate_alpha"]), f"{stability_name(tag)} (measured at {m.get('git_commit')})"
        return GATE_ALPHA, (
            f"unmeasured default ({stability_name(tag)} measured {m['method']} on seeds "
            f"{m['reference_seeds']}, not this record's)"
        )
    return GATE_ALPHA, "unmeasured default"


def build_record(
    view: ResultsView,
    comparisons: dict[str, Comparison] | None = None,
    directory: str | Path | None = None,
) -> dict[str, Any]:
    """Decide every comparison (default: :data:`~salcheck.science.findings.ALL`) on ``view``
    (a ResultsView); cells it lacks are left out. Its gate threshold is :func:`gate_alpha_for`
    (``directory``: where the record goes)."""
    decided = view.findings_available(ALL if comparisons is None else comparisons)
    seeds = list(view.seeds)
    threshold, source = gate_alpha_for(tier_tag(view.tier), view.method_name, seeds, directory)
    known = {**ALL, **(comparisons or {})}
    out = {
        key: verdict_dict(
            f.verdict, seeds, f.own if f.rule is not None else None, models_digest(view, known[key])
        )
        for key, f in decided.items()
        if f is not None
    }
    return {
        "record_version": RECORD_VERSION,
        "tier": view.tier.name,
        "method": view.method_name,
        "seeds": seeds,
        "protocol": getattr(view, "protocol_id", None),
        "alpha": ALPHA,
        "gate_alpha": threshold,
        "gate_alpha_from": source,
        "git_commit": git_commit(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "verdicts": out,
    }


def write_record(
    view: ResultsView, directory: str | Path, comparisons: dict[str, Comparison] | None = None
) -> Path:
    """Write the view's record of ``comparisons`` (:func:`build_record`) atomically under
    ``directory``; returns its path."""
    path = Path(directory) / record_name(tier_tag(view.tier), view.method_name)
    record = build_record(view, comparisons, directory)
    atomic.write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def _check_record(data: Any) -> None:
    if data.get("record_version") != RECORD_VERSION:
        raise ValueError(f"record_version {data.get('record_version')!r}, expected {RECORD_VERSION}")
    threshold = data.get("gate_alpha", GATE_ALPHA)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not ALPHA <= threshold <= 1
    ):
        raise ValueError(f"gate_alpha {threshold!r}: must be a number in [{ALPHA}, 1]")
    for key, v in data["verdicts"].items():
        if v["outcome"] not in OUTCOMES:
            raise ValueError(f"{key}: outcome {v['outcome']!r} not in {OUTCOMES}")
        missing = [k for k in ENTRY_KEYS if k not in v]
        if missing:
            raise ValueError(f"{key}: entry lacks {missing}")


def read_record(path: str | Path) -> dict[str, Any]:
    """A record, checked; a bad file raises InvalidArgument naming it and what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        _check_record(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = (
            f"verdict record {path} is unreadable ({type(exc).__name__}: {exc}); "
            "rewrite it with `salcheck verdicts --write`"
        )
        raise InvalidArgument(msg) from exc
    return data


def recorded_entries(directory: str | Path | None, tier: str, method: str) -> dict[str, dict[str, Any]]:
    """key -> record entry for (tier, method), each with its record's ``gate_alpha``; empty
    when no record exists."""
    record = _record_at(directory, tier, method)
    return {} if record is None else entries_of(record)


def _record_at(directory: str | Path | None, tier: str, method: str) -> dict[str, Any] | None:
    """The read record of (tier, method) in ``directory``; None when there is none."""
    path = None if directory is None else Path(directory) / record_name(tier, method)
    return read_record(path) if path is not None and path.exists() else None


def entries_of(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """key -> entry of a read record, each with the record's ``gate_alpha``."""
    threshold = record.get("gate_alpha", GATE_ALPHA)
    return {k: {**v, "gate_alpha": threshold} for k, v in record["verdicts"].items()}


#: Criteria read from the network's features, the same for every saliency method.
MODEL_CRITERIA = frozenset({"a"})


def reads_maps(c: Any) -> bool:
    """Whether comparison ``c`` (:class:`~salcheck.science.findings.Comparison`) reads any
    method's maps; one that reads only criterion a does not depend on the method."""
    return any(op[2] not in MODEL_CRITERIA for op in (c.x, c.y) if isinstance(op, tuple))


def method_entries(
    directory: str | Path | None, tier: str, method: str, reference: str, comparisons: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """key -> record entry for (tier, method), where every comparison that reads no map
    (:func:`reads_maps`) takes the ``reference`` method's record entry: a claim on the model
    alone is held to the tier's recorded verdict whatever the method."""
    own = recorded_entries(directory, tier, method)
    if method == reference:
        return own
    shared = recorded_entries(directory, tier, reference)
    for key, c in comparisons.items():
        if not reads_maps(c) and key in shared:
            own[key] = shared[key]
    return own


def recorded_outcomes(
    directory: str | Path | None, tier: str, method: str
) -> tuple[dict[str, str], tuple[int, ...]]:
    """key -> recorded outcome for (tier, method), and the seeds the record decided them on
    (the record's, which an undecidable entry does not carry); empty when no record exists."""
    record = _record_at(directory, tier, method)
    if record is None:
        return {}, ()
    outcomes = {k: v["outcome"] for k, v in record["verdicts"].items()}
    return outcomes, tuple(int(s) for s in record.get("seeds") or ())


def _recorded_text(entry: dict[str, Any]) -> str:
    p = entry.get("p_forward")
    numbers = f"p = {p:.3g}" if isinstance(p, float | int) else entry.get("reason") or "no p"
    return f"recorded {entry['outcome']} on seeds {entry.get('seeds')} ({numbers})"


def gate(
    entry: dict[str, Any] | None,
    now: Decided,
    seeds: Sequence[int] | None = None,
    own: Decided | None = None,
    models: str | None = None,
) -> GateResult:
    """Pass, fail or xfail for ``now`` (decided on ``seeds``; ``own``: the method's own test
    before the null rule; ``models``: :func:`models_digest` of the models decided on), given
    its record ``entry``.

    The paths are the module docstring's; every message carries the numbers now and recorded.

    Examples:
        >>> from salcheck.science.stats import paired_test
        >>> v = paired_test([3, 4, 5, 4, 3], [1, 1, 1, 1, 1], claim="x > y")
        >>> gate(None, v).status, gate({"outcome": "contradicted"}, v).status
        ('pass', 'fail')
    """
    recorded_seeds = list(entry.get("seeds") or []) if entry is not None else []
    if entry is not None and seeds is not None and recorded_seeds and recorded_seeds != list(seeds):
        why = f"the record (seeds {recorded_seeds}) is refused on seeds {list(seeds)}"
        return _unrecorded(now, why)
    if entry is None:
        return _unrecorded(now, "no record")
    recorded = entry["outcome"]
    if recorded not in OUTCOMES:
        msg = f"recorded outcome must be one of {OUTCOMES}, got {recorded!r}"
        raise InvalidArgument(msg)
    same_seeds = seeds is not None and list(entry.get("seeds") or []) == list(seeds)
    if same_seeds and entry.get("digest") == now.digest() and recorded == now.outcome:
        why = f"re-read, unchanged: {_recorded_text(entry)}, the same values; not a replication"
        return GateResult(EXPECTED_STATUS[recorded], f"{now.message()} [{why}]")
    same_models = models is not None and entry.get("models") == models
    threshold = ALPHA if same_models else float(entry.get("gate_alpha", GATE_ALPHA))
    if recorded == "replicated":
        status, why = _from_replicated(now, threshold, same_models)
    else:
        status, why = _PATHS[recorded](now)
    if recorded == "inconclusive" and entry.get("own_outcome") == "replicated" and status == "xfail":
        status, why = _own_fell(own) or (status, why)
    changed = now.outcome != recorded
    where = "" if same_seeds else f"; now on seeds {list(seeds) if seeds is not None else '?'}"
    head = f"CHANGED from {recorded} to {now.outcome}: " if changed else ""
    return GateResult(status, f"{now.message()} [{head}{why}; {_recorded_text(entry)}{where}]", changed)


def _unrecorded(now: Decided, why: str) -> GateResult:
    ok = now.holds
    why = f"{why}: must replicate at alpha" + ("" if ok else f"; it is {now.outcome}")
    return GateResult("pass" if ok else "fail", f"{now.message()} [{why}]")


def _own_fell(own: Decided | None) -> tuple[str, str] | None:
    """Recorded inconclusive only because the null rule blocked it: the method's own test
    replicated then, and must still."""
    if own is None or own.holds:
        return None
    return "fail", f"recorded inconclusive by the null rule alone; its own test FELL to {own.outcome}"


def _from_replicated(now: Decided, threshold: float, same_models: bool = False) -> tuple[str, str]:
    if now.outcome == "undecidable":
        return "fail", "recorded replicated, now undecidable"
    if now.outcome == "contradicted":
        return "fail", "FELL from replicated to CONTRADICTED at alpha"
    which = (
        "on the record's own models, so no training noise: at alpha"
        if same_models
        else "on retrained models: at the record's threshold"
    )
    if now.p_forward is not None and now.p_forward <= threshold:
        return "pass", f"recorded replicated; the gate holds while p <= {threshold:.3g} ({which})"
    return "fail", f"FELL from replicated beyond the gate (p > {threshold:.3g}, {which})"


def _from_contradicted(now: Decided) -> tuple[str, str]:
    if now.holds:
        return "fail", "STALE record: recorded contradicted, now replicates at alpha"
    return "xfail", "recorded contradicted; expected to fail while it does not replicate"


def _from_inconclusive(now: Decided, recorded: str = "inconclusive") -> tuple[str, str]:
    if now.outcome == "contradicted":
        return "fail", f"recorded {recorded}, now CONTRADICTED at alpha"
    if now.holds:
        return "pass", f"recorded {recorded}, now replicates at alpha"
    return "xfail", f"recorded {recorded}; expected to fail while {now.outcome}"


def _from_undecidable(now: Decided) -> tuple[str, str]:
    if now.outcome == "undecidable":
        return "xfail", f"recorded undecidable; still undecidable ({now.reason})"
    return _from_inconclusive(now, "undecidable")


#: The paths of the other recorded outcomes (a recorded replication also reads its threshold).
_PATHS = {
    "contradicted": _from_contradicted,
    "inconclusive": _from_inconclusive,
    "undecidable": _from_undecidable,
}

"""Recorded verdicts: what the engine measured, written by ``salcheck verdicts --write``.

A record holds, for one (tier, saliency method), the three-way verdict at alpha of every
comparison in :data:`salcheck.science.findings.ALL` with its numbers, the seeds and the commit. The
property suite reads it to know what to expect; the report states the verdicts computed from
the same store by the same function.

The gate (:func:`gate`): float noise from another CPU must not flip CI, while the report
still states every verdict at alpha. So a comparison recorded as replicated fails the gate only
when the evidence falls beyond a wider threshold, p_forward >= :data:`GATE_ALPHA` (0.2); one
recorded as contradicted is a strict xfail, failing the run only when it now replicates at
alpha; one recorded as inconclusive is a non-strict xfail that says so with its numbers. A
comparison with no record (another method, a new finding) must replicate at alpha.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import salcheck.atomic as atomic
from salcheck.errors import InvalidArgument
from salcheck.provenance import git_commit
from salcheck.science.findings import ALL, Comparison
from salcheck.science.stats import ALPHA, OUTCOMES, Verdict

GATE_ALPHA = 0.2
RECORD_VERSION = 1


def record_name(tier: str, method: str) -> str:
    """``ci-vanilla-gradient.json``: the tier and the method's name, lower-case, dashed."""
    slug = re.sub(r"[^a-z0-9]+", "-", method.lower()).strip("-")
    return f"{tier}-{slug}.json"


def verdict_dict(v: Verdict) -> dict[str, Any]:
    return {
        "outcome": v.outcome,
        "claim": v.claim,
        "n": v.n,
        "k": v.k,
        "mean": v.mean,
        "effect_size": v.effect_size,
        "p_forward": v.p_forward,
        "p_reverse": v.p_reverse,
        "seeds_for_power": v.seeds_for_power,
        "x": list(v.x),
        "y": list(v.y),
    }


def build_record(view, comparisons: dict[str, Comparison] | None = None) -> dict[str, Any]:
    """Decide every comparison on ``view`` (a ResultsView); cells it lacks are left out."""
    decided = view.decide_available(comparisons or ALL)
    out = {key: verdict_dict(v) for key, v in decided.items() if v is not None}
    return {
        "record_version": RECORD_VERSION,
        "tier": view.tier.name,
        "method": view.method_name,
        "seeds": list(view.seeds),
        "alpha": ALPHA,
        "gate_alpha": GATE_ALPHA,
        "git_commit": git_commit(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "verdicts": out,
    }


def write_record(view, directory: str | Path) -> Path:
    """Write the view's record atomically under ``directory``; returns its path."""
    path = Path(directory) / record_name(view.tier.name, view.method_name)
    atomic.write_text(path, json.dumps(build_record(view), indent=1, sort_keys=True) + "\n")
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    """A record, checked; a bad file raises InvalidArgument naming it and what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if data.get("record_version") != RECORD_VERSION:
            raise ValueError(f"record_version {data.get('record_version')!r}, expected {RECORD_VERSION}")
        for key, v in data["verdicts"].items():
            if v["outcome"] not in OUTCOMES:
                raise ValueError(f"{key}: outcome {v['outcome']!r} not in {OUTCOMES}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = (
            f"verdict record {path} is unreadable ({type(exc).__name__}: {exc}); "
            "rewrite it with `salcheck verdicts --write`"
        )
        raise InvalidArgument(msg) from exc
    return data


def expected_outcomes(directory: str | Path | None, tier: str, method: str) -> dict[str, str]:
    """key -> recorded outcome for (tier, method); empty when no record exists."""
    if directory is None:
        return {}
    path = Path(directory) / record_name(tier, method)
    if not path.exists():
        return {}
    return {k: v["outcome"] for k, v in read_record(path)["verdicts"].items()}


def gate(expected: str | None, now: Verdict) -> tuple[bool, str]:
    """Does ``now`` pass, given the recorded outcome? Returns (passes, message)."""
    if expected == "replicated":
        ok = now.p_forward < GATE_ALPHA
        why = (
            f"recorded as replicated; the gate holds while p < {GATE_ALPHA:g}"
            if ok
            else f"FELL from replicated beyond the gate (p >= {GATE_ALPHA:g})"
        )
        return ok, f"{now.message()} [{why}]"
    return now.holds, now.message()

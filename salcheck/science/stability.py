"""Verdict stability: how far verdicts move when the same comparisons are decided again on
other training runs, and the gate threshold that measurement sets.

A measurement (written by ``benchmarks/bench_stability.py --write DIR`` as
``<tier>-stability.json``) holds, per comparison of :data:`salcheck.science.findings.ALL`, the
outcome and the deciding p_forward (beyond the null maps: the intersection-union p of
the method's own test and the null rule) on the reference (the tier's seeds) and on each rerun:

- ``float_path``: the tier's seeds trained again on another float path (the same cohorts,
  initial weights, data order and stop rule; other rounding), the one noise a recorded verdict
  meets on its own seeds;
- ``disjoint_seeds``: other seeds of the same protocol (seed choice).

The gate threshold (:func:`gate_threshold`) is the largest p_forward that a comparison
*replicated* on the reference reaches on the float path, and never below alpha: a recorded
*replicated* fails when it drops further than float noise moves one in the measurement (p
above the threshold). A rerun that cannot decide a comparison (undecidable) is listed apart,
not counted as a p; a rerun that lacks a comparison replicated on the reference is refused.
The measurement is of one method on one tier's seeds, and a record takes its threshold only
when its tier, method and seeds are the measurement's. Seed
choice is measured beside it and does not enter the threshold, because the gate refuses a
record on other seeds (:func:`salcheck.science.verdicts.gate`): a verdict on other seeds is held
to alpha, as one with no record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import salcheck.atomic as atomic
from salcheck.errors import InvalidArgument
from salcheck.provenance import git_commit
from salcheck.science.stats import ALPHA, OUTCOMES, Verdict

STABILITY_VERSION = 2  # 2: p_forward is the deciding (intersection-union) p
#: The reruns a measurement may hold; the threshold reads FLOAT_PATH.
FLOAT_PATH = "float_path"
DISJOINT_SEEDS = "disjoint_seeds"
RERUNS = (FLOAT_PATH, DISJOINT_SEEDS)


def stability_name(tier: str) -> str:
    """``ci-stability.json``: the file a tier's measurement is written to."""
    return f"{tier}-stability.json"


def outcomes(decided: Mapping[str, Verdict | None]) -> dict[str, dict[str, Any]]:
    """key -> {outcome, p_forward} of every decided comparison (a missing one is left out)."""
    return {
        k: {"outcome": v.outcome, "p_forward": v.p_forward}
        for k, v in sorted(decided.items())
        if v is not None
    }


def compare(
    ref: Mapping[str, Mapping[str, Any]], other: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """Counts of the comparisons decided in both: the same outcome, moved between replicated and
    contradicted (a flip), to or from inconclusive, to or from undecidable.

    Examples:
        >>> r = {"x": {"outcome": "replicated"}, "y": {"outcome": "inconclusive"}}
        >>> o = {"x": {"outcome": "inconclusive"}, "y": {"outcome": "inconclusive"}}
        >>> compare(r, o)["to_inconclusive"], compare(r, o)["same"]
        (1, 1)
    """
    keys = ref.keys() & other.keys()
    a = {k: ref[k]["outcome"] for k in keys}
    b = {k: other[k]["outcome"] for k in keys}
    return {
        "compared": len(keys),
        "same": sum(a[k] == b[k] for k in keys),
        "replicated_contradicted_flips": sum(
            {a[k], b[k]} == {"replicated", "contradicted"} for k in keys
        ),
        "to_inconclusive": sum(a[k] != "inconclusive" and b[k] == "inconclusive" for k in keys),
        "from_inconclusive": sum(a[k] == "inconclusive" and b[k] != "inconclusive" for k in keys),
        "to_or_from_undecidable": sum("undecidable" in (a[k], b[k]) and a[k] != b[k] for k in keys),
    }


def lost(ref: Mapping[str, Mapping[str, Any]], other: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The comparisons replicated on ``ref`` that ``other`` cannot decide (undecidable: a model
    that did not learn, a value that is not finite); listed apart, not in the threshold."""
    return sorted(
        k
        for k, r in ref.items()
        if r["outcome"] == "replicated" and other.get(k, {}).get("outcome") == "undecidable"
    )


def replicated_drops(
    ref: Mapping[str, Mapping[str, Any]], other: Mapping[str, Mapping[str, Any]]
) -> dict[str, float]:
    """key -> p_forward on ``other`` of each comparison replicated on ``ref`` and decided on
    ``other`` (an undecidable rerun is :func:`lost`, not a p); a comparison replicated on
    ``ref`` that ``other`` lacks raises InvalidArgument: a partial rerun cannot set a
    threshold."""
    missing = sorted(k for k, r in ref.items() if r["outcome"] == "replicated" and k not in other)
    if missing:
        msg = f"the rerun lacks {len(missing)} comparison(s) replicated on the reference: {missing[:5]}"
        raise InvalidArgument(msg)
    out: dict[str, float] = {}
    for k, r in ref.items():
        if r["outcome"] != "replicated" or other[k]["outcome"] == "undecidable":
            continue
        p = other[k].get("p_forward")
        if not isinstance(p, int | float):
            msg = f"{k}: p_forward {p!r} is not a number on a decided rerun"
            raise InvalidArgument(msg)
        out[k] = float(p)
    return out


def gate_threshold(measurement: Mapping[str, Any]) -> float:
    """max(alpha, the largest float-path p_forward of a comparison replicated on the reference);
    the gate passes a recorded *replicated* while p <= it.

    Examples:
        >>> m = {"reference": {"x": {"outcome": "replicated", "p_forward": 0.001}},
        ...      "reruns": {"float_path": {"outcomes": {"x": {"outcome": "inconclusive",
        ...                                                 "p_forward": 0.09}}}}}
        >>> gate_threshold(m)
        0.09
    """
    drops = replicated_drops(measurement["reference"], measurement["reruns"][FLOAT_PATH]["outcomes"])
    return max([ALPHA, *drops.values()])


def build_measurement(
    tier: str,
    method: str,
    reference_seeds: list[int],
    reference: Mapping[str, Verdict | None],
    reruns: Mapping[str, tuple[dict[str, Any], Mapping[str, Verdict | None]]],
) -> dict[str, Any]:
    """The measurement: the reference's outcomes, and per rerun (name -> (what it was, its
    verdicts)) its outcomes, its counts against the reference, and the p_forward it gives each
    comparison replicated on the reference; with the threshold when the float path is in."""
    unknown = set(reruns) - set(RERUNS)
    if unknown:
        msg = f"rerun names must be among {RERUNS}, got {sorted(unknown)}"
        raise InvalidArgument(msg)
    ref = outcomes(reference)
    out: dict[str, Any] = {
        "stability_version": STABILITY_VERSION,
        "tier": tier,
        "method": method,
        "reference_seeds": list(reference_seeds),
        "alpha": ALPHA,
        "git_commit": git_commit(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference": ref,
        "reruns": {},
    }
    for name, (what, decided) in reruns.items():
        other = outcomes(decided)
        drops = replicated_drops(ref, other)
        out["reruns"][name] = {
            **what,
            "outcomes": other,
            "counts": compare(ref, other),
            "replicated_drops": drops,
            "lost_to_undecidable": lost(ref, other),
            "largest_drop": max(drops.values(), default=None),
        }
    out["gate_alpha"] = gate_threshold(out) if FLOAT_PATH in reruns else None
    return out


def write_measurement(measurement: Mapping[str, Any], directory: str | Path) -> Path:
    """Write ``measurement`` atomically as ``directory/<tier>-stability.json``; returns its path."""
    path = Path(directory) / stability_name(str(measurement["tier"]))
    atomic.write_text(path, json.dumps(measurement, indent=1, sort_keys=True) + "\n")
    return path


def _check(data: Any) -> None:
    if data.get("stability_version") != STABILITY_VERSION:
        raise ValueError(
            f"stability_version {data.get('stability_version')!r}, expected {STABILITY_VERSION}"
        )
    if FLOAT_PATH not in data["reruns"]:
        raise ValueError(f"no {FLOAT_PATH!r} rerun: the gate threshold cannot be set from it")
    for where, entries in [("reference", data["reference"])] + [
        (name, r["outcomes"]) for name, r in data["reruns"].items()
    ]:
        for key, v in entries.items():
            if v["outcome"] not in OUTCOMES:
                raise ValueError(f"{where} {key}: outcome {v['outcome']!r} not in {OUTCOMES}")
    for key in ("tier", "method", "reference_seeds"):
        if key not in data:
            raise ValueError(f"no {key!r}")
    expected = gate_threshold(data)
    if data.get("gate_alpha") != expected:
        raise ValueError(
            f"gate_alpha {data.get('gate_alpha')!r} is not what its numbers give ({expected})"
        )


def read_measurement(path: str | Path) -> dict[str, Any]:
    """A measurement, checked (its threshold recomputed from its numbers); a bad file raises
    InvalidArgument naming it and what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        _check(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, InvalidArgument) as exc:
        msg = (
            f"stability measurement {path} is unreadable ({type(exc).__name__}: {exc}); "
            "measure it again with `python benchmarks/bench_stability.py --write DIR`"
        )
        raise InvalidArgument(msg) from exc
    return data

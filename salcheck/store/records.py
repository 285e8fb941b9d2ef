"""The stored results: a trained model (:class:`ModelResult`), each part of its evaluation
(:class:`Evaluation`) and a method's check-suite results (:class:`CheckRecord`). All are
JSON-serialisable; arrays travel as lists.

``from_dict`` is strict (:mod:`salcheck.store.schema`): unknown or missing fields, values of
the wrong type, an unknown status, a finished record without the numbers its readers use, all
raise :class:`~salcheck.errors.InvalidRecord`. :func:`check_entry` adds the key: an entry is
valid only under the key recomputed from its content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from salcheck.errors import InvalidRecord
from salcheck.store.keys import ModelSpec, entry_key
from salcheck.store.schema import conform, decode_array, encode_array, fields_of, short
from salcheck.training.stopping import learned, still_improving

#: The states of a stored record; a failed one is computed again when next needed.
STATUSES = ("done", "failed")


@dataclass
class ModelResult:
    """A trained model's record; its weights are stored beside it (``weights_sha256``)."""

    spec: ModelSpec
    status: str  # "done" or "failed"
    history: list[dict[str, float]] = field(default_factory=list)  # one entry per epoch
    best_epoch: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    weights_sha256: str | None = None
    stop: dict[str, Any] = field(default_factory=dict)  # epochs_run, reason, best_epochs
    #: The first optimiser steps' losses and the initial weights' sha256 (training.loop.trajectory)
    trajectory: dict[str, Any] = field(default_factory=dict)

    @property
    def still_improving(self) -> bool:
        """Stopped at the cap while the validation loss still fell (see ``training.stopping``)."""
        return self.stop.get("reason", "cap") == "cap" and still_improving(
            self.history, self.spec.patience, self.spec.tolerance
        )

    @property
    def learned(self) -> bool:
        """The kept epoch's validation balanced accuracy reaches the learned floor."""
        return learned(self.history, self.best_epoch)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "status": self.status,
            "history": self.history,
            "best_epoch": self.best_epoch,
            "timings": self.timings,
            "provenance": self.provenance,
            "error": self.error,
            "weights_sha256": self.weights_sha256,
            "stop": self.stop,
            "trajectory": self.trajectory,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelResult:
        """The record of a JSON dict; raises InvalidRecord naming what is wrong."""
        fields_of(cls, d, "model record")
        _check_status(d["status"])
        if d["status"] == "done":
            for i, epoch in enumerate(d.get("history", [])):
                for k in ("val_loss", "val_balanced_accuracy"):
                    conform(epoch.get(k), float, f"history[{i}].{k}")
        return cls(**{**d, "spec": ModelSpec.from_dict(d["spec"])})


#: The parts of an evaluation, each a kind of store entry: ``features`` (criterion a and test
#: accuracy: the model's, the same for every method), ``maps`` (a method's criteria on its
#: maps, and its group maps) and ``randomisation`` (a method's cascading-randomisation curve).
PARTS = ("features", "maps", "randomisation")


@dataclass
class Evaluation:
    """One part of the evaluation of a model on a test set (:data:`PARTS`)."""

    part: str
    model: ModelSpec
    status: str  # "done" or "failed"
    method: str | None = None  # readable name (None for features)
    fingerprint: str | None = None  # the method's; None for features (or not cacheable)
    protocol: dict[str, str] = field(default_factory=dict)  # EvalProtocol.to_dict() (maps, curve)
    criteria: dict[str, float] = field(default_factory=dict)  # a; or b, c, b_dagger, ..., rma_typical
    accuracy: dict[str, float] = field(default_factory=dict)  # features
    curve: list[dict[str, Any]] = field(default_factory=list)  # randomisation, one row per layer
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # maps: "typical", "atypical"
    timings: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    identity: dict[str, Any] | None = None  # what its key hashes (keys.evaluation_payload)

    def to_dict(self) -> dict[str, Any]:
        d = {
            k: getattr(self, k)
            for k in (
                "identity",
                "part",
                "method",
                "fingerprint",
                "protocol",
                "status",
                "criteria",
                "accuracy",
                "curve",
                "timings",
                "provenance",
                "error",
            )
        }
        d["model"] = self.model.to_dict()
        d["maps"] = {k: encode_array(v) for k, v in self.maps.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evaluation:
        """The record of a JSON dict; raises InvalidRecord naming what is wrong."""
        fields_of(cls, d, "evaluation record")
        _check_status(d["status"])
        if d["part"] not in PARTS:
            raise InvalidRecord(f"part must be one of {', '.join(PARTS)}, got {short(d['part'])}")
        if d["status"] == "done" and d["part"] == "randomisation":
            _check_curve(d.get("curve", []))
        return cls(
            **{
                **d,
                "model": ModelSpec.from_dict(d["model"], where="model"),
                "maps": {k: decode_array(v) for k, v in d.get("maps", {}).items()},
            }
        )


@dataclass
class CheckResultFields:
    """The JSON form of one check's result in a :class:`CheckRecord`: the fields of
    ``salcheck.engine.checks.CheckResult`` (which its readers build from it)."""

    method: str
    check: str
    claim: str
    passed: bool
    numbers: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why the method's tags do not select this check


@dataclass
class CheckRecord:
    """The check suite's results for one method on a tier's reference models."""

    method: str
    fingerprint: str | None
    tier: str
    results: list[dict[str, Any]]  # CheckResult fields, one per check, in the suite's order
    provenance: dict[str, Any] = field(default_factory=dict)
    status: str = "done"
    error: str | None = None
    identity: dict[str, Any] | None = None  # what its key hashes (keys.checks_payload)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckRecord:
        """The record of a JSON dict; raises InvalidRecord naming what is wrong."""
        fields_of(cls, d, "check-suite record")
        _check_status(d["status"])
        for i, result in enumerate(d["results"]):
            fields_of(CheckResultFields, result, f"results[{i}]")
        return cls(**d)


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise InvalidRecord(f"status must be one of {', '.join(STATUSES)}, got {short(status)}")


def _check_curve(steps: list[dict[str, Any]]) -> None:
    """A finished cascading-randomisation curve: at least the trained model's step, each with
    its layer and the numbers b, c, spearman (the view derives criteria from them)."""
    if not steps:
        raise InvalidRecord("the curve of a finished randomisation must hold at least one step")
    for i, step in enumerate(steps):
        conform(step.get("layer"), str, f"curve[{i}].layer")
        for k in ("b", "c", "spearman"):
            conform(step.get(k), float, f"curve[{i}].{k}")


#: The record class of each kind of entry.
RECORDS: dict[str, Any] = {
    "models": ModelResult,
    "features": Evaluation,
    "maps": Evaluation,
    "randomisation": Evaluation,
    "checks": CheckRecord,
}


def check_entry(kind: str, key: str | None, entry: Any) -> Any:
    """The record an entry of ``kind`` stored under ``key`` holds. Raises InvalidRecord when it
    is not a valid record of its kind, or when ``key`` (unless None) is not the key recomputed
    from its content.

    Examples:
        >>> spec = ModelSpec("homogeneous", n_per_class=12, image_size=32)
        >>> entry = {"spec": spec.to_dict(), "status": "failed"}
        >>> check_entry("models", spec.key(), entry).status
        'failed'
        >>> check_entry("models", "0" * 24, entry)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        salcheck.errors.InvalidRecord: stored under key 0000...0000, but its content is that of ...
    """
    record = RECORDS[kind].from_dict(entry)
    if kind in PARTS and record.part != kind:
        raise InvalidRecord(f"a {record.part} evaluation stored among the {kind}")
    own = entry_key(kind, entry)
    if key is not None and own != key:
        raise InvalidRecord(f"stored under key {key}, but its content is that of {own}")
    return record

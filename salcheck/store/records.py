"""The stored results: a trained model (:class:`ModelResult`), each part of its evaluation
(:class:`Evaluation`) and a method's check-suite results (:class:`CheckRecord`). All are
JSON-serialisable; arrays travel as lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from salcheck.store.keys import ModelSpec


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

    @property
    def still_improving(self) -> bool:
        """Stopped at the cap while the validation loss still fell (see ``training.stopping``)."""
        from salcheck.training.stopping import still_improving

        return self.stop.get("reason", "cap") == "cap" and still_improving(
            self.history, self.spec.patience, self.spec.tolerance
        )

    @property
    def learned(self) -> bool:
        """The kept epoch's validation balanced accuracy reaches the learned floor."""
        from salcheck.training.stopping import learned

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
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelResult:
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

    def to_dict(self) -> dict[str, Any]:
        d = {
            k: getattr(self, k)
            for k in (
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
        d["maps"] = {k: np.asarray(v, np.float32).tolist() for k, v in self.maps.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evaluation:
        return cls(
            **{
                **d,
                "model": ModelSpec.from_dict(d["model"]),
                "maps": {k: np.asarray(v, np.float32) for k, v in d.get("maps", {}).items()},
            }
        )


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

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckRecord:
        return cls(**d)

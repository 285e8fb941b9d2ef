"""The two kinds of stored result: a trained model (:class:`ModelResult`) and a method's
evaluation on it (:class:`Scores`). Both are JSON-serialisable; arrays travel as lists."""

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


@dataclass
class Scores:
    """One method evaluated on one model and test set: criteria, accuracy, maps, sanity."""

    model: ModelSpec
    method: str  # readable name
    fingerprint: str | None  # None: not cacheable
    status: str  # "done" or "failed"
    criteria: dict[str, float] = field(default_factory=dict)  # a, b, c, b_dagger, ... rma_typical
    accuracy: dict[str, float] = field(default_factory=dict)
    randomisation: list[dict[str, Any]] = field(default_factory=list)  # cascading, per layer
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # "typical", "atypical" group maps
    timings: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            k: getattr(self, k)
            for k in (
                "method",
                "fingerprint",
                "status",
                "criteria",
                "accuracy",
                "randomisation",
                "timings",
                "provenance",
                "error",
            )
        }
        d["model"] = self.model.to_dict()
        d["maps"] = {k: np.asarray(v, np.float32).tolist() for k, v in self.maps.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scores:
        return cls(
            **{
                **d,
                "model": ModelSpec.from_dict(d["model"]),
                "maps": {k: np.asarray(v, np.float32) for k, v in d.get("maps", {}).items()},
            }
        )

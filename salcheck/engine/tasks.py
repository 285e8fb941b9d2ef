"""What a plan is made of: a :class:`Task` (train a model, or compute one part of its
evaluation) and a :class:`CheckSuite` (a method's check suite on a tier's reference models).
The plan builders (:mod:`salcheck.engine.plan`) make them; the runner
(:mod:`salcheck.engine.runner`) carries them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from salcheck.criteria import EvalProtocol
from salcheck.errors import InvalidArgument
from salcheck.saliency.resolve import MethodRef
from salcheck.store.keys import ModelSpec, TestSpec, checks_payload, content_key, evaluation_payload
from salcheck.store.tiers import Tier

__all__ = ["TASK_PARTS", "CheckSuite", "Task"]

TASK_PARTS = ("model", "features", "maps", "randomisation")


@dataclass(frozen=True)
class Task:
    """Train the model ``spec`` (part ``model``), or compute one part of its evaluation."""

    part: str
    spec: ModelSpec
    method: MethodRef | None = None  # maps and randomisation
    protocol: EvalProtocol = field(default_factory=EvalProtocol)

    def __post_init__(self) -> None:
        if self.part not in TASK_PARTS:
            msg = f"task part must be one of {TASK_PARTS}, got {self.part!r}"
            raise InvalidArgument(msg)
        if self.part in ("maps", "randomisation") and self.method is None:
            msg = f"a {self.part} task needs a saliency method"
            raise InvalidArgument(msg)

    @property
    def kind(self) -> str:
        """The store kind of the task's entry."""
        return "models" if self.part == "model" else self.part

    def identity(self, test: TestSpec) -> dict[str, Any]:
        """What the key of the task's evaluation entry hashes (stored in the entry)."""
        fingerprint = self.method.fingerprint if self.method is not None else None
        protocol = self.protocol.to_dict() if self.part != "features" else None
        return evaluation_payload(self.part, self.spec, test, fingerprint, protocol)

    def key(self, test: TestSpec) -> str:
        """The store key of the task's entry."""
        if self.part == "model":
            return self.spec.key()
        return content_key(self.identity(test))

    def label(self) -> str:
        what = self.part if self.method is None else f"{self.part} of {self.method.name}"
        return f"{self.spec.label()} [{what}]"


@dataclass(frozen=True)
class CheckSuite:
    """The check suite of ``method`` on ``tier``'s reference models (homogeneous default)."""

    method: MethodRef
    tier: Tier
    seeds: tuple[int, ...]
    protocol: EvalProtocol

    def models(self) -> list[ModelSpec]:
        return [self.tier.spec("homogeneous", "default", s) for s in self.seeds]

    def identity(self) -> dict[str, Any]:
        """What the key of the suite's entry hashes (stored in the entry)."""
        return checks_payload(
            self.method.fingerprint, self.models(), self.tier.test(), self.protocol.to_dict()
        )

    def key(self) -> str:
        return content_key(self.identity())

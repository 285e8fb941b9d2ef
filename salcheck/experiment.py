"""The one module that wires the stages: cohort -> model -> training -> saliency -> criteria.

An :class:`ExperimentSpec` names one cell of a grid (dataset x variant x seed at a tier's
scale); :func:`run_experiment` runs it and returns a JSON-serialisable :class:`RunResult`.
Seeds: the training cohort, the network's initialisation, the split, the shuffling and the
augmentations all derive from ``spec.seed``; the test cohort from ``spec.test_seed``. Two
variants run with the same seed therefore see the same cohort and the same initial weights,
so comparisons between variants are paired.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .augment import AUGMENTATIONS
from .cohort import Cohort, make_cohort, preset
from .errors import InvalidArgument, check_choice
from .losses import LOSSES
from .rng import derive_seed

#: Bump when the content of a stored result changes meaning; names every cached result.
RESULT_FORMAT_VERSION = 2
DATASETS = ("homogeneous", "heterogeneous", "large")
BASE_VARIANTS = ("default", *AUGMENTATIONS, *(k for k in LOSSES if k != "CE"))


def parse_variant(variant: str) -> tuple[tuple[str, ...], str]:
    """``"Noise+L1"`` -> (("Noise",), "L1"); ``"default"`` -> ((), "CE").

    A variant is ``default`` or a ``+``-joined list of augmentations (applied in the given
    order) and at most one loss.
    """
    if variant == "default":
        return (), "CE"
    augs, losses = [], []
    for part in variant.split("+"):
        check_choice("variant part", part, tuple(x for x in BASE_VARIANTS if x != "default"))
        (augs if part in AUGMENTATIONS else losses).append(part)
    if len(losses) > 1 or len(set(augs)) != len(augs):
        msg = f"variant {variant!r} names a loss or an augmentation twice; at most one loss"
        raise InvalidArgument(msg)
    return tuple(augs), losses[0] if losses else "CE"


@dataclass(frozen=True)
class ExperimentSpec:
    """One cell: everything that determines its result (hashed to name it in the store)."""

    dataset: str  # training preset: homogeneous, heterogeneous or large
    variant: str = "default"  # default, CropPad, ..., L1Norm, or combinations like Noise+L1
    seed: int = 0  # training seed: cohort, initialisation, split, shuffling, augmentation
    image_size: int = 128
    n_per_class: int | None = None  # None: the preset's size
    mix: tuple[float, float, float] | None = None  # None: the preset's mix
    test_n_per_class: int = 1000
    test_seed: int = 12345
    model: str = "convnet"
    epochs: int = 20
    batch_size: int = 8
    learning_rate: float = 1e-4
    method: str = "vanilla"  # saliency method: "vanilla" or "module:object"

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        parse_variant(self.variant)
        if self.mix is not None:
            object.__setattr__(self, "mix", tuple(float(m) for m in self.mix))
        self.train_spec()  # validates sizes and mix
        self.train_config()

    def train_spec(self):
        over: dict[str, Any] = {"image_size": self.image_size}
        if self.n_per_class is not None:
            over["n_per_class"] = self.n_per_class
        if self.mix is not None:
            over["mix"] = self.mix
        return preset(self.dataset, **over)

    def test_spec(self):
        return preset("test", image_size=self.image_size, n_per_class=self.test_n_per_class)

    def train_config(self):
        from .training import TrainConfig

        augs, loss = parse_variant(self.variant)
        return TrainConfig(model=self.model, loss=loss, augmentations=augs, epochs=self.epochs,
                           batch_size=self.batch_size, learning_rate=self.learning_rate)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["mix"] is not None:
            d["mix"] = list(d["mix"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentSpec:
        d = dict(d)
        if d.get("mix") is not None:
            d["mix"] = tuple(d["mix"])
        return cls(**d)

    def key(self) -> str:
        """Stable content hash of the spec and the result-format version."""
        payload = json.dumps({"v": RESULT_FORMAT_VERSION, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    def label(self) -> str:
        return f"{self.dataset}/{self.variant}/seed{self.seed}"


@dataclass
class RunResult:
    """Everything a cell produced; JSON-serialisable through :meth:`to_dict`."""

    spec: ExperimentSpec
    status: str  # "done" or "failed"
    criteria: dict[str, float] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    randomisation: list[dict[str, Any]] = field(default_factory=list)  # cascading, per layer
    weights_sha256: str | None = None  # checksum of the stored trained weights, if any
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # "typical", "atypical" group maps

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("status", "criteria", "accuracy", "history",
                                           "best_epoch", "timings", "provenance", "error",
                                           "randomisation", "weights_sha256")}
        d["spec"] = self.spec.to_dict()
        d["maps"] = {k: np.asarray(v, np.float32).tolist() for k, v in self.maps.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        d = dict(d)
        d["spec"] = ExperimentSpec.from_dict(d["spec"])
        d["maps"] = {k: np.asarray(v, np.float32) for k, v in d.get("maps", {}).items()}
        return cls(**d)


def load_model(spec: ExperimentSpec, state_dict: dict):
    """The spec's network with the given trained weights, in eval mode."""
    import torch

    from .models import build_model

    model = build_model(spec.model, spec.image_size, generator=torch.Generator())
    model.load_state_dict(state_dict)
    return model.eval()


def resolve_method(name: str, seed: int = 0):
    """A saliency method from a name: ``vanilla`` or ``module:object`` (a method instance,
    a method class, or a captum attribution class)."""
    from .saliency import SaliencyMethod, VanillaGradient

    if name == "vanilla":
        return VanillaGradient(seed=seed)
    if ":" not in name:
        msg = f"unknown saliency method {name!r}; accepted: vanilla, or MODULE:OBJECT"
        raise InvalidArgument(msg)
    import importlib

    module, _, attr = name.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot import saliency method {name!r}: {exc}"
        raise InvalidArgument(msg) from exc
    if isinstance(obj, SaliencyMethod):
        return obj
    if isinstance(obj, type) and issubclass(obj, SaliencyMethod):
        return obj(seed=seed)
    if isinstance(obj, type) and hasattr(obj, "attribute"):
        from .saliency.captum_adapter import CaptumMethod

        return CaptumMethod(obj, seed=seed)
    if hasattr(obj, "attribute"):
        return obj
    msg = f"{name!r} is a {type(obj).__name__}, not a saliency method (needs .attribute)"
    raise InvalidArgument(msg)


def provenance(spec: ExperimentSpec) -> dict[str, Any]:
    """Spec, seeds, package versions, git commit and machine of a run."""
    import torch

    from . import __version__

    return {
        "spec": spec.to_dict(),
        "seeds": {"train_cohort": derive_seed(spec.seed, "cohort"), "training": spec.seed,
                  "test_cohort": spec.test_seed},
        "versions": {"salcheck": __version__, "python": sys.version.split()[0],
                     "torch": torch.__version__, "numpy": np.__version__},
        "git_commit": git_commit(),
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "threads": torch.get_num_threads()},
        "result_format_version": RESULT_FORMAT_VERSION,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def git_commit() -> str | None:
    """The commit of the salcheck checkout in use, if it is one ('-dirty' if modified)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


_TEST_COHORTS: dict[tuple, Cohort] = {}


def test_cohort(spec: ExperimentSpec) -> Cohort:
    """The test cohort of a spec (cached in-process: every cell of a tier shares it)."""
    key = (spec.test_spec(), spec.test_seed)
    if key not in _TEST_COHORTS:
        _TEST_COHORTS.clear()
        _TEST_COHORTS[key] = make_cohort(spec.test_spec(), spec.test_seed)
    return _TEST_COHORTS[key]


def run_experiment(spec: ExperimentSpec, *,
                   progress: Callable[[dict[str, float]], None] | None = None,
                   return_model: bool = False):
    """Train, map and score one cell. Returns a RunResult (and the model if asked)."""
    from .criteria import (
        FeatureSubtyping,
        cascading_randomisation,
        localisation_scores,
        map_criteria,
    )
    from .saliency import group_map, subtype_maps
    from .training import evaluate, train

    t0 = time.perf_counter()
    cohort = make_cohort(spec.train_spec(), derive_seed(spec.seed, "cohort"))
    test = test_cohort(spec)
    t1 = time.perf_counter()
    trained = train(cohort, spec.train_config(), spec.seed, progress=progress)
    t2 = time.perf_counter()
    method = resolve_method(spec.method, derive_seed(spec.seed, "method"))
    maps = subtype_maps(method, trained.model, test)
    group = {k: group_map(v) for k, v in maps.items()}
    criteria = map_criteria(group["typical"], group["atypical"])
    criteria["a"] = FeatureSubtyping()(trained.model, test)
    for sub, masks in (("typical", "typical_masks"), ("atypical", "atypical_masks")):
        idx = test.indices(label=1, subtype=1 if sub == "typical" else 2)
        scores = localisation_scores(maps[sub], getattr(test.subset(idx), masks))
        criteria.update({f"{k}_{sub}": v for k, v in scores.items()})
    randomisation = cascading_randomisation(method, trained.model, test, seed=spec.seed,
                                            max_images=32)
    t3 = time.perf_counter()
    result = RunResult(
        spec=spec, status="done", criteria=criteria, accuracy=evaluate(trained.model, test),
        history=trained.history, best_epoch=trained.best_epoch,
        timings={"cohort_s": t1 - t0, "train_s": t2 - t1, "saliency_s": t3 - t2,
                 "total_s": time.perf_counter() - t0},
        provenance=provenance(spec), randomisation=randomisation, maps=group)
    return (result, trained.model) if return_model else result

"""What determines each expensive stage: a model (:class:`ModelSpec`) and a test set (:class:`TestSpec`).

A model is determined by its training data (dataset preset, size, mix, image size, the seed
that draws the cohort), its variant (augmentations and loss) and its training settings. Nothing
about saliency methods or test sets enters a model's key, so a model is trained once and every
method is evaluated on it. Seeds: the training cohort, initialisation, split, shuffling and
augmentations all derive from ``seed``, so two variants with the same seed see the same cohort
and start from the same weights: comparisons between variants are paired.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from salcheck.cohort import CohortSpec, preset
from salcheck.cohort.io import FORMAT_VERSION as COHORT_FORMAT_VERSION
from salcheck.errors import InvalidArgument, InvalidRecord, check_choice
from salcheck.store.schema import fields_of, short
from salcheck.training.augment import AUGMENTATIONS
from salcheck.training.losses import LOSSES

#: Bump when what a stored model means changes (training code, defaults); names every model.
MODEL_FORMAT_VERSION = 4
DATASETS = ("homogeneous", "heterogeneous", "large")
BASE_VARIANTS = ("default", *AUGMENTATIONS, *(k for k in LOSSES if k != "CE"))


def parse_variant(variant: str) -> tuple[tuple[str, ...], str]:
    """``"Noise+L1"`` -> (("Noise",), "L1"); ``"default"`` -> ((), "CE").

    A variant is ``default`` or a ``+``-joined list of augmentations (applied in the given
    order) and at most one loss.
    """
    if variant == "default":
        return (), "CE"
    augs: list[str] = []
    losses: list[str] = []
    for part in variant.split("+"):
        check_choice("variant part", part, tuple(x for x in BASE_VARIANTS if x != "default"))
        (augs if part in AUGMENTATIONS else losses).append(part)
    if len(losses) > 1 or len(set(augs)) != len(augs):
        msg = f"variant {variant!r} names a loss or an augmentation twice; at most one loss"
        raise InvalidArgument(msg)
    return tuple(augs), losses[0] if losses else "CE"


def content_key(payload: dict[str, Any]) -> str:
    """A stable 24-hex-digit hash of a JSON-able dict (sorted keys)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ModelSpec:
    """One trained model: everything that determines its weights, and nothing else."""

    dataset: str  # training preset: homogeneous, heterogeneous or large
    variant: str = "default"  # default, CropPad, ..., L1Norm, or combinations like Noise+L1
    seed: int = 0  # training seed: cohort, initialisation, split, shuffling, augmentation
    image_size: int = 128
    n_per_class: int | None = None  # None: the preset's size
    mix: tuple[float, float, float] | None = None  # None: the preset's mix
    model: str = "convnet"
    epochs: int = 20  # the cap
    batch_size: int = 8
    learning_rate: float = 1e-4
    patience: int | None = None  # early stopping on validation loss; None: every epoch
    tolerance: float = 0.0
    selection: str = "loss"  # the validation metric that picks the kept epoch

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        parse_variant(self.variant)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            msg = f"seed must be an integer >= 0, got seed={self.seed!r}"
            raise InvalidArgument(msg)
        if self.mix is not None:
            object.__setattr__(self, "mix", tuple(float(m) for m in self.mix))
        self.train_spec()  # validates sizes and mix
        self.train_config()

    def train_spec(self) -> CohortSpec:
        over: dict[str, Any] = {"image_size": self.image_size}
        if self.n_per_class is not None:
            over["n_per_class"] = self.n_per_class
        if self.mix is not None:
            over["mix"] = self.mix
        return preset(self.dataset, **over)

    def train_config(self):
        from salcheck.training.loop import TrainConfig

        augs, loss = parse_variant(self.variant)
        return TrainConfig(
            model=self.model,
            loss=loss,
            augmentations=augs,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            patience=self.patience,
            tolerance=self.tolerance,
            selection=self.selection,
        )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["mix"] is not None:
            d["mix"] = list(d["mix"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, where: str = "spec") -> ModelSpec:
        """The spec of a JSON dict; raises InvalidRecord naming the field ``where`` it fails."""
        d = dict(fields_of(cls, d, where))
        if d.get("mix") is not None:
            d["mix"] = tuple(d["mix"])
        try:
            return cls(**d)
        except (ValueError, TypeError) as exc:
            raise InvalidRecord(f"{where}: {exc}") from exc

    def key(self) -> str:
        """Content hash of the spec, the model format and the cohort format."""
        return content_key(
            {
                "model_format": MODEL_FORMAT_VERSION,
                "cohort_format": COHORT_FORMAT_VERSION,
                **self.to_dict(),
            }
        )

    def label(self) -> str:
        """``homogeneous/Noise/seed3`` plus the size and epochs, and the mix when not the preset's."""
        n = self.n_per_class if self.n_per_class is not None else self.train_spec().n_per_class
        mix = f" mix {'/'.join(f'{m:g}' for m in self.mix)}" if self.mix is not None else ""
        stop = f"<={self.epochs} ep, patience {self.patience}" if self.patience else f"{self.epochs} ep"
        return f"{self.dataset}/{self.variant}/seed{self.seed} ({n}/class, {stop}{mix})"


@dataclass(frozen=True)
class TestSpec:
    """The held-out test cohort every model of a tier is scored on (mix 0 / 0.5 / 0.5)."""

    __test__ = False  # not a pytest test class

    image_size: int = 128
    n_per_class: int = 1000
    seed: int = 12345

    def cohort_spec(self) -> CohortSpec:
        return preset("test", image_size=self.image_size, n_per_class=self.n_per_class)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "cohort_format": COHORT_FORMAT_VERSION}


def identity_of(
    model: ModelSpec, test: dict[str, Any], fingerprint: str | None, *, version: Any, code: Any
) -> dict[str, Any]:
    """What an evaluation's key hashes (``key = content_key(identity)``): the model's key, the
    test set (``TestSpec.to_dict()``), the method's fingerprint, and the evaluation version and
    code hash of the code that computed it. Each evaluation entry stores it as ``identity``, so
    its key can be recomputed from its content (:func:`evaluation_entry_key`)."""
    return {
        "model": model.key(),
        "test": dict(test),
        "method": fingerprint,
        "version": version,
        "code": code,
    }


def evaluation_entry_key(entry: dict[str, Any]) -> str | None:
    """The key of an evaluation entry, recomputed from its content: its model spec, its test set
    (``provenance.test``; a failed entry has only ``identity.test``), its method fingerprint, and
    the evaluation version and code hash its ``identity`` records. None for an entry written
    before entries carried an identity. Raises InvalidRecord when the identity it carries is not
    the one of its content. Change this function with :func:`identity_of`.
    """
    identity = entry.get("identity")
    if identity is None:
        return None
    test = entry.get("provenance", {}).get("test", identity.get("test"))
    if not isinstance(test, dict):
        raise InvalidRecord(f"provenance.test must be a JSON object, got {short(test)}")
    expected = identity_of(
        ModelSpec.from_dict(entry["model"], where="model"),
        test,
        entry.get("fingerprint"),
        version=identity.get("version"),
        code=identity.get("code"),
    )
    wrong = sorted(k for k in set(expected) | set(identity) if expected.get(k) != identity.get(k))
    if wrong:
        parts = ", ".join(
            f"{k} {short(identity.get(k), 40)} (content: {short(expected.get(k), 40)})" for k in wrong
        )
        raise InvalidRecord(f"its identity is not that of its content: {parts}")
    return content_key(expected)


def entry_key(kind: str, entry: dict[str, Any]) -> str | None:
    """The key an entry of ``kind`` (a valid record) belongs under, recomputed from its content:
    ``ModelSpec.key()`` of a model's spec, :func:`evaluation_entry_key` of an evaluation."""
    if kind == "models":
        return ModelSpec.from_dict(entry["spec"]).key()
    return evaluation_entry_key(entry)

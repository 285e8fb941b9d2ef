"""What determines each expensive stage: a model (:class:`ModelSpec`) and a test set (:class:`TestSpec`).

A model is determined by its training data (dataset preset, size, mix, image size, the seed
that draws the cohort), its variant (augmentations and loss), its network and its training
settings; a network other than the study's two also puts its fingerprint in the key
(:func:`salcheck.models.custom.network_fingerprint`), while the study's keys stay as they were. Nothing
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

from salcheck.cohort import AnyCohort, CohortSpec, check_dims, make_any_cohort, preset
from salcheck.cohort.io import FORMAT_VERSION as COHORT_FORMAT_VERSION
from salcheck.errors import InvalidArgument, InvalidRecord, check_choice
from salcheck.models.custom import check_network_name, is_builtin, network_fingerprint
from salcheck.rng import derive_seed
from salcheck.store.schema import fields_of, short
from salcheck.training.augment import AUGMENTATIONS
from salcheck.training.loop import TrainConfig
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
    model: str = "convnet"  # convnet, conv5_fc3, monai:NAME or MODULE:OBJECT[@LAYER]
    epochs: int = 20  # the cap
    batch_size: int = 8
    learning_rate: float = 1e-4
    patience: int | None = None  # early stopping on validation loss; None: every epoch
    tolerance: float = 0.0
    selection: str = "loss"  # the validation metric that picks the kept epoch
    #: The fingerprint of a network other than the study's (None for theirs): computed when the
    #: spec is made, kept as stored when it is read back.
    network: str | None = None
    dims: int = 2  # 2: images, 3: volumes (salcheck.cohort.phantoms3d)

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        check_dims(self.dims)
        self._network_identity()
        parse_variant(self.variant)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            msg = f"seed must be an integer >= 0, got seed={self.seed!r}"
            raise InvalidArgument(msg)
        if self.mix is not None:
            object.__setattr__(self, "mix", tuple(float(m) for m in self.mix))
        self.train_spec()  # validates sizes and mix
        self.train_config()

    def _network_identity(self) -> None:
        """Check the network's name; fingerprint a network other than the study's two."""
        check_network_name(self.model)
        if is_builtin(self.model) and self.network is not None:
            msg = f"the study's {self.model!r} takes no network fingerprint, got {self.network!r}"
            raise InvalidArgument(msg)
        if not is_builtin(self.model) and self.network is None:
            object.__setattr__(
                self, "network", network_fingerprint(self.model, self.image_size, self.dims)
            )

    def train_spec(self) -> CohortSpec:
        over: dict[str, Any] = {"image_size": self.image_size}
        if self.n_per_class is not None:
            over["n_per_class"] = self.n_per_class
        if self.mix is not None:
            over["mix"] = self.mix
        return preset(self.dataset, **over)

    def train_config(self) -> TrainConfig:
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
        if d["network"] is None:
            del d["network"]  # the study's networks: the keys they always had
        if d["dims"] == 2:
            del d["dims"]  # images: the keys they always had
        return d

    def train_cohort(self) -> AnyCohort:
        """The training cohort this model is trained on (drawn from the seed's ``cohort`` child)."""
        return make_any_cohort(self.train_spec(), derive_seed(self.seed, "cohort"), dims=self.dims)

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
        """Content hash of the spec, the model format and the cohort format.

        Examples:
            >>> a = ModelSpec("homogeneous", "Noise", seed=0, image_size=64)
            >>> a.key() == ModelSpec("homogeneous", "Noise", seed=0, image_size=64).key()
            True
            >>> a.key() == ModelSpec("homogeneous", "Noise", seed=1, image_size=64).key()
            False
        """
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
        net = "" if self.network is None else f" on {self.model}"
        volumes = ", volumes" if self.dims == 3 else ""
        return f"{self.dataset}/{self.variant}/seed{self.seed} ({n}/class, {stop}{mix}{volumes}){net}"


@dataclass(frozen=True)
class TestSpec:
    """The held-out test cohort every model of a tier is scored on (mix 0 / 0.5 / 0.5)."""

    __test__ = False  # not a pytest test class

    image_size: int = 128
    n_per_class: int = 1000
    seed: int = 12345
    dims: int = 2  # 2: images, 3: volumes

    def cohort_spec(self) -> CohortSpec:
        return preset("test", image_size=self.image_size, n_per_class=self.n_per_class)

    def cohort(self) -> AnyCohort:
        """The test cohort, drawn once per process (every model of a tier shares it)."""
        if self not in _TEST_COHORTS:
            _TEST_COHORTS.clear()
            _TEST_COHORTS[self] = make_any_cohort(self.cohort_spec(), self.seed, dims=self.dims)
        return _TEST_COHORTS[self]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["dims"] == 2:
            del d["dims"]  # images: the keys they always had
        return {**d, "cohort_format": COHORT_FORMAT_VERSION}


_TEST_COHORTS: dict[TestSpec, AnyCohort] = {}

#: The declared version of what each evaluation part computes: bump a part's number in the
#: same commit as any change to what it computes (a criterion, the group maps, the per-model
#: nulls, the test images it reads). Source text stays out of the keys, so a refactor recomputes
#: nothing; ``tests/test_zoo_meaning.py`` re-evaluates zoo models and fails on a change of
#: meaning made without a bump.
EVALUATION_VERSIONS: dict[str, int] = {"features": 3, "maps": 3, "randomisation": 3, "checks": 3}


def evaluation_payload(
    part: str,
    model: ModelSpec,
    test: TestSpec | dict[str, Any],
    fingerprint: str | None = None,
    protocol: dict[str, str] | None = None,
    *,
    version: Any = None,
) -> dict[str, Any]:
    """Everything that determines one part of an evaluation, its *identity* (its key hashes it,
    and the entry stores it so its key can be recomputed from its content): the model, the test
    set, the method's fingerprint and the evaluation protocol (``maps`` and ``randomisation``
    only) and the declared version of the part (default: this code's, :data:`EVALUATION_VERSIONS`)."""
    check_choice("evaluation part", part, ("features", "maps", "randomisation"))
    payload: dict[str, Any] = {
        "part": part,
        "model": model.key(),
        "test": test.to_dict() if isinstance(test, TestSpec) else dict(test),
        "version": EVALUATION_VERSIONS[part] if version is None else version,
    }
    if part != "features":
        if fingerprint is None:
            msg = f"a {part} evaluation needs the method's fingerprint, got None"
            raise InvalidArgument(msg)
        payload.update(method=fingerprint, protocol=dict(sorted((protocol or {}).items())))
    return payload


def evaluation_key(
    part: str,
    model: ModelSpec,
    test: TestSpec,
    fingerprint: str | None = None,
    protocol: dict[str, str] | None = None,
) -> str:
    """The store key of one part of an evaluation."""
    return content_key(evaluation_payload(part, model, test, fingerprint, protocol))


def checks_payload(
    fingerprint: str,
    models: list[ModelSpec] | list[str],
    test: TestSpec | dict[str, Any],
    protocol: dict[str, str],
    *,
    version: Any = None,
) -> dict[str, Any]:
    """The identity of a method's check-suite results on reference ``models``."""
    return {
        "part": "checks",
        "method": fingerprint,
        "models": [m.key() if isinstance(m, ModelSpec) else m for m in models],
        "test": test.to_dict() if isinstance(test, TestSpec) else dict(test),
        "protocol": dict(sorted(protocol.items())),
        "version": EVALUATION_VERSIONS["checks"] if version is None else version,
    }


def checks_key(
    fingerprint: str, models: list[ModelSpec], test: TestSpec, protocol: dict[str, str]
) -> str:
    """The store key of a method's check-suite results on reference ``models``."""
    return content_key(checks_payload(fingerprint, models, test, protocol))


def _identity(entry: dict[str, Any]) -> dict[str, Any]:
    identity = entry.get("identity")
    if not isinstance(identity, dict):
        raise InvalidRecord(f"an evaluation entry must carry its identity, got {short(identity)}")
    return identity


def evaluation_entry_key(entry: dict[str, Any]) -> str:
    """The key of an evaluation or check-suite entry, recomputed from its content: its part, its
    model spec, its test set (``provenance.test``; a failed entry has only ``identity.test``),
    its method's fingerprint and protocol, and the version its identity records (taken on its
    word: an entry of another version is valid, just not the one this code asks for). Raises
    InvalidRecord when the identity it carries is not the one of its content."""
    identity = _identity(entry)
    test = entry.get("provenance", {}).get("test", identity.get("test"))
    if not isinstance(test, dict):
        raise InvalidRecord(f"provenance.test must be a JSON object, got {short(test)}")
    version = identity.get("version")
    if entry.get("part", "checks") == "checks" and "results" in entry:
        expected = checks_payload(
            entry.get("fingerprint") or "",
            list(identity.get("models") or []),
            test,
            dict(identity.get("protocol") or {}),
            version=version,
        )
    else:
        part = entry.get("part")
        if part not in ("features", "maps", "randomisation"):
            raise InvalidRecord(f"part must be features, maps or randomisation, got {short(part)}")
        expected = evaluation_payload(
            part,
            ModelSpec.from_dict(entry["model"], where="model"),
            test,
            entry.get("fingerprint") if part != "features" else None,
            entry.get("protocol") if part != "features" else None,
            version=version,
        )
    wrong = sorted(k for k in set(expected) | set(identity) if expected.get(k) != identity.get(k))
    if wrong:
        parts = ", ".join(
            f"{k} {short(identity.get(k), 40)} (content: {short(expected.get(k), 40)})" for k in wrong
        )
        raise InvalidRecord(f"its identity is not that of its content: {parts}")
    return content_key(expected)


def entry_key(kind: str, entry: dict[str, Any]) -> str:
    """The key an entry of ``kind`` (a valid record) belongs under, recomputed from its content:
    ``ModelSpec.key()`` of a model's spec, :func:`evaluation_entry_key` of the others."""
    if kind == "models":
        return ModelSpec.from_dict(entry["spec"]).key()
    return evaluation_entry_key(entry)

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
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from salcheck.cohort import Cohort, CohortSpec, make_cohort, preset
from salcheck.cohort.io import FORMAT_VERSION as COHORT_FORMAT_VERSION
from salcheck.errors import InvalidArgument, InvalidRecord, check_choice
from salcheck.store.schema import fields_of, short
from salcheck.training.augment import AUGMENTATIONS
from salcheck.training.losses import LOSSES

if TYPE_CHECKING:
    from salcheck.training.loop import TrainConfig

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

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
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
        from salcheck.models.custom import check_network_name, is_builtin, network_fingerprint

        check_network_name(self.model)
        if is_builtin(self.model) and self.network is not None:
            msg = f"the study's {self.model!r} takes no network fingerprint, got {self.network!r}"
            raise InvalidArgument(msg)
        if not is_builtin(self.model) and self.network is None:
            object.__setattr__(self, "network", network_fingerprint(self.model, self.image_size))

    def train_spec(self) -> CohortSpec:
        over: dict[str, Any] = {"image_size": self.image_size}
        if self.n_per_class is not None:
            over["n_per_class"] = self.n_per_class
        if self.mix is not None:
            over["mix"] = self.mix
        return preset(self.dataset, **over)

    def train_config(self) -> TrainConfig:
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
        if d["network"] is None:
            del d["network"]  # the study's networks: the keys they always had
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
        return f"{self.dataset}/{self.variant}/seed{self.seed} ({n}/class, {stop}{mix}){net}"


@dataclass(frozen=True)
class TestSpec:
    """The held-out test cohort every model of a tier is scored on (mix 0 / 0.5 / 0.5)."""

    __test__ = False  # not a pytest test class

    image_size: int = 128
    n_per_class: int = 1000
    seed: int = 12345

    def cohort_spec(self) -> CohortSpec:
        return preset("test", image_size=self.image_size, n_per_class=self.n_per_class)

    def cohort(self) -> Cohort:
        """The test cohort, drawn once per process (every model of a tier shares it)."""
        if self not in _TEST_COHORTS:
            _TEST_COHORTS.clear()
            _TEST_COHORTS[self] = make_cohort(self.cohort_spec(), self.seed)
        return _TEST_COHORTS[self]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "cohort_format": COHORT_FORMAT_VERSION}


_TEST_COHORTS: dict[TestSpec, Cohort] = {}

#: Bump when what an evaluation means changes in a way the code hashes below cannot see.
EVALUATION_VERSION = 2
#: The modules (under ``salcheck/``) whose source determines each kind of derived result; their
#: source is hashed into its key, so an edit recomputes exactly the results it can change.
EVALUATION_CODE: dict[str, tuple[str, ...]] = {
    "features": (
        "engine/evaluate.py",
        "criteria/base.py",
        "criteria/subtyping.py",
        "training/inference.py",
        "models/networks.py",
    ),
    "maps": (
        "engine/evaluate.py",
        "criteria/base.py",
        "criteria/protocol.py",
        "criteria/regions.py",
        "criteria/localisation.py",
        "saliency/base.py",
        "saliency/groups.py",
        "training/inference.py",
        "models/networks.py",
    ),
    "randomisation": (
        "engine/evaluate.py",
        "criteria/base.py",
        "criteria/protocol.py",
        "criteria/regions.py",
        "criteria/randomisation.py",
        "saliency/base.py",
        "saliency/groups.py",
        "training/inference.py",
        "models/networks.py",
    ),
    "checks": (
        "checks/suite.py",
        "engine/evaluate.py",
        "saliency/base.py",
        "training/inference.py",
        "models/networks.py",
    ),
}


@functools.cache
def code_hash(kind: str) -> str:
    """sha256 over the code of the modules that compute ``kind`` (:data:`EVALUATION_CODE`): each
    module's syntax tree with docstrings left out (:func:`code_text`), so a comment or a
    docstring edited never recomputes a result, and any change to what runs does."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for name in EVALUATION_CODE[kind]:
        p = root / name
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + code_text(f.read_text()).encode())
    return h.hexdigest()


def code_text(source: str) -> str:
    r"""The code of a module without its comments, docstrings and type annotations: the dump
    of its syntax tree with those removed (the dump depends on the Python version: another
    version recomputes, never serves stale).

    Examples:
        >>> code_text("'A docstring.'\nx = 1  # a comment") == code_text("x = 1")
        True
        >>> code_text("def f(x: int) -> int:\n    return x") == code_text("def f(x):\n    return x")
        True
        >>> code_text("x = 1") == code_text("x = 2")
        False
    """
    import ast

    tree = ast.parse(source)
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, scopes) and node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        elif isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, ast.AnnAssign):
            node.annotation = ast.Constant(None)
    return ast.dump(tree, include_attributes=False)


def _is_docstring(statement: Any) -> bool:
    import ast

    value = getattr(statement, "value", None)
    return (
        isinstance(statement, ast.Expr)
        and isinstance(value, ast.Constant)
        and isinstance(value.value, str)
    )


def evaluation_payload(
    part: str,
    model: ModelSpec,
    test: TestSpec | dict[str, Any],
    fingerprint: str | None = None,
    protocol: dict[str, str] | None = None,
    *,
    version: Any = None,
    code: Any = None,
) -> dict[str, Any]:
    """Everything that determines one part of an evaluation, its *identity* (its key hashes it,
    and the entry stores it so its key can be recomputed from its content): the model, the test
    set, the method's fingerprint and the evaluation protocol (``maps`` and ``randomisation``
    only), the evaluation version and the code of the part (default: this code's)."""
    check_choice("evaluation part", part, ("features", "maps", "randomisation"))
    payload: dict[str, Any] = {
        "part": part,
        "model": model.key(),
        "test": test.to_dict() if isinstance(test, TestSpec) else dict(test),
        "version": EVALUATION_VERSION if version is None else version,
        "code": code_hash(part) if code is None else code,
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
    code: Any = None,
) -> dict[str, Any]:
    """The identity of a method's check-suite results on reference ``models``."""
    return {
        "part": "checks",
        "method": fingerprint,
        "models": [m.key() if isinstance(m, ModelSpec) else m for m in models],
        "test": test.to_dict() if isinstance(test, TestSpec) else dict(test),
        "protocol": dict(sorted(protocol.items())),
        "version": EVALUATION_VERSION if version is None else version,
        "code": code_hash("checks") if code is None else code,
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
    its method's fingerprint and protocol, and the version and code hash its identity records
    (taken on its word: this code cannot recompute another code's hash). Raises InvalidRecord
    when the identity it carries is not the one of its content."""
    identity = _identity(entry)
    test = entry.get("provenance", {}).get("test", identity.get("test"))
    if not isinstance(test, dict):
        raise InvalidRecord(f"provenance.test must be a JSON object, got {short(test)}")
    version, code = identity.get("version"), identity.get("code")
    if entry.get("part", "checks") == "checks" and "results" in entry:
        expected = checks_payload(
            entry.get("fingerprint") or "",
            list(identity.get("models") or []),
            test,
            dict(identity.get("protocol") or {}),
            version=version,
            code=code,
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
            code=code,
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

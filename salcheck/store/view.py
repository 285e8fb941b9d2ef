"""Reading results: one view of a store, (tier, method, seeds, protocol), read by every consumer.

The pytest plugin, the reports, ``salcheck verdicts``, the check suite and the benchmarks read
through :class:`ResultsView`; it never computes. A missing result raises
:class:`MissingResults` naming it (``salcheck.engine.plan.execute`` is what computes). A cell
whose models did not learn, or stopped at the cap while still improving, makes every
comparison that reads it *undecidable* (:meth:`ResultsView.validity`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from salcheck.criteria import RANDOMISATION_SCORES, EvalProtocol, part_of
from salcheck.errors import SalcheckError
from salcheck.models.custom import load_network
from salcheck.saliency.resolve import DEFAULT_METHOD, MethodRef, resolve
from salcheck.science.findings import Comparison, FindingVerdict, decide_finding
from salcheck.science.stats import Verdict, undecidable
from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec, TestSpec, evaluation_key
from salcheck.store.records import CheckRecord, Evaluation, ModelResult
from salcheck.store.tiers import Tier, check_seeds
from salcheck.training.loop import resolve_device
from salcheck.training.stopping import LEARNED_SUBTYPE_ACCURACY, learned_subtype


class MissingResults(SalcheckError, LookupError):
    """The store holds no finished result where one was asked for."""


def reads_atypical(criterion: str) -> bool:
    """Whether a criterion is read from the atypical group map (b†, c†, ``*_atypical``)."""
    return criterion in ("b_dagger", "c_dagger") or criterion.endswith("_atypical")


def read_model(store: Store, spec: ModelSpec) -> ModelResult:
    """The finished model record of ``spec``; raises :class:`MissingResults`."""
    entry = store.get("models", spec.key())
    if entry is None:
        raise MissingResults(f"model {spec.label()} is not in the store {store.root}")
    record = ModelResult.from_dict(entry)
    if record.status != "done":
        raise MissingResults(f"model {spec.label()} failed: {record.error}")
    return record


def read_network(store: Store, spec: ModelSpec, device: str = "cpu") -> Any:
    """The trained network of ``spec`` loaded from the store, in eval mode."""
    record = read_model(store, spec)
    data = store.get_blob("models", spec.key(), record.weights_sha256)
    if data is None:
        raise MissingResults(f"the weights of model {spec.label()} are missing or corrupted")
    return load_network(spec.model, spec.image_size, data, resolve_device(device), dims=spec.dims)


def read_evaluation(
    store: Store,
    part: str,
    spec: ModelSpec,
    test: TestSpec,
    method: MethodRef | None = None,
    protocol: EvalProtocol | None = None,
) -> Evaluation:
    """The finished ``part`` of the evaluation of ``spec``; raises :class:`MissingResults`."""
    fingerprint = method.fingerprint if method is not None and part != "features" else None
    proto = (protocol or EvalProtocol()).to_dict() if part != "features" else None
    entry = store.get(part, evaluation_key(part, spec, test, fingerprint, proto))
    who = "" if part == "features" else f" of {method.name if method else '?'}"
    if entry is None:
        raise MissingResults(f"{part}{who} on {spec.label()} is not in the store {store.root}")
    result = Evaluation.from_dict(entry)
    if result.status != "done":
        raise MissingResults(f"{part}{who} on {spec.label()} failed: {result.error}")
    return result


def read_checks(store: Store, key: str) -> CheckRecord:
    """A stored check-suite record; raises :class:`MissingResults`."""
    entry = store.get("checks", key)
    if entry is None:
        raise MissingResults(f"no check-suite results under {key} in the store {store.root}")
    return CheckRecord.from_dict(entry)


class ResultsView:
    """Results of one saliency method on a tier's models, per seed, read from the store."""

    def __init__(
        self,
        store: Store,
        tier: Tier,
        method: Any = DEFAULT_METHOD,
        *,
        seeds: Iterable[int] | None = None,
        protocol: EvalProtocol | None = None,
        nulls: Iterable[Any] = (),
    ) -> None:
        self.store, self.tier = store, tier
        self.method = resolve(method)
        self.seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
        self.protocol = protocol or tier.evaluation
        self.nulls = tuple(resolve(n) for n in nulls)  # the null rule's references
        self._cache: dict[tuple[Any, ...], Any] = {}

    @property
    def method_name(self) -> str:
        return self.method.name

    @property
    def protocol_id(self) -> dict[str, Any]:
        """What a verdict record names: the tier's training protocol and the evaluation's."""
        out: dict[str, Any] = {"training": self.tier.training(), "evaluation": self.protocol.to_dict()}
        if self.tier.network != "convnet":
            out["network"] = self.tier.network
        return out

    def with_nulls(self, nulls: Iterable[Any]) -> ResultsView:
        """The same view, deciding beyond these null maps."""
        return ResultsView(
            self.store, self.tier, self.method, seeds=self.seeds, protocol=self.protocol, nulls=nulls
        )

    def for_method(self, method: Any) -> ResultsView:
        """The same store, tier, seeds, protocol and nulls, for another method."""
        return ResultsView(
            self.store, self.tier, method, seeds=self.seeds, protocol=self.protocol, nulls=self.nulls
        )

    def specs(self, dataset: str, variant: str = "default", **overrides: Any) -> list[ModelSpec]:
        return [self.tier.spec(dataset, variant, s, **overrides) for s in self.seeds]

    def models(self, dataset: str, variant: str = "default", **overrides: Any) -> list[ModelResult]:
        """The model record of each seed of the cell."""
        return [read_model(self.store, s) for s in self.specs(dataset, variant, **overrides)]

    def weights_digest(self, dataset: str, variant: str = "default") -> str | None:
        """A digest of the cell's models' weights, seed by seed (each model's weights_sha256):
        equal digests mean bit-identical models (the zoo's, read anywhere); None when a model
        lacks its weights' hash."""
        key = ("weights", dataset, variant)
        if key not in self._cache:
            shas = [m.weights_sha256 for m in self.models(dataset, variant)]
            joined = None if any(s is None for s in shas) else ";".join(str(s) for s in shas)
            self._cache[key] = (
                None if joined is None else hashlib.sha256(joined.encode()).hexdigest()[:16]
            )
        return self._cache[key]

    def evaluations(
        self, dataset: str, variant: str = "default", part: str = "maps", **overrides: Any
    ) -> list[Evaluation]:
        """One evaluation ``part`` per seed of the cell; raises :class:`MissingResults`."""
        key = (dataset, variant, part, tuple(sorted(overrides.items())))
        if key not in self._cache:
            test = self.tier.test()
            self._cache[key] = [
                read_evaluation(self.store, part, s, test, self.method, self.protocol)
                for s in self.specs(dataset, variant, **overrides)
            ]
        return list(self._cache[key])

    def values(self, dataset: str, variant: str, criterion: str, **overrides: Any) -> list[float]:
        """One criterion per seed: from the features (a), the randomisation curve (F8's
        scores) or the maps (every other criterion)."""
        part = part_of(criterion)
        runs = self.evaluations(dataset, variant, part, **overrides)
        if part == "randomisation":
            return [float(RANDOMISATION_SCORES[criterion](r.curve)) for r in runs]
        missing = [r for r in runs if criterion not in r.criteria]
        if missing:
            r = missing[0]
            raise MissingResults(
                f"the {part} of {r.method or 'the model'} on {r.model.label()} has no "
                f"criterion {criterion!r}"
            )
        return [float(r.criteria[criterion]) for r in runs]

    def accuracy(self, dataset: str, variant: str = "default") -> list[dict[str, float]]:
        return [r.accuracy for r in self.evaluations(dataset, variant, "features")]

    def group_maps(self, dataset: str, variant: str = "default") -> list[dict[str, np.ndarray]]:
        return [r.maps for r in self.evaluations(dataset, variant, "maps")]

    def available(
        self, dataset: str, variant: str = "default", parts: Iterable[str] = ("features", "maps")
    ) -> bool:
        """Whether every seed of the cell has the ``parts`` (never computes)."""
        try:
            for part in parts:
                self.evaluations(dataset, variant, part)
            return True
        except MissingResults:
            return False

    def validity(self, dataset: str, variant: str = "default", *, atypical: bool = False) -> str | None:
        """Why the cell cannot decide a comparison (None: it can): a seed whose model did not
        learn, or stopped at the cap while its validation loss still fell; with ``atypical``
        (the comparison reads the atypical map), a seed whose model did not learn the atypical
        subtype (:func:`salcheck.training.stopping.learned_subtype`)."""
        records = self.models(dataset, variant)
        not_learned = [r.spec.seed for r in records if not r.learned]
        improving = [r.spec.seed for r in records if r.still_improving]
        why = []
        if not_learned:
            why.append(f"learned on {len(records) - len(not_learned)} of {len(records)} seeds")
        if improving:
            why.append(f"seed(s) {improving} stopped at the cap while still improving")
        if atypical:
            missed = [
                s
                for s, a in zip(self.seeds, self.accuracy(dataset, variant), strict=True)
                if not learned_subtype(a)
            ]
            if missed:
                floor = f"atypical test accuracy >= {LEARNED_SUBTYPE_ACCURACY:g}"
                why.append(
                    f"the atypical subtype learned on {len(records) - len(missed)} of "
                    f"{len(records)} seeds ({floor}; not: seed(s) {missed})"
                )
        return f"{dataset}/{variant}: " + "; ".join(why) if why else None

    def finding(self, comparison: Comparison) -> FindingVerdict:
        """The comparison decided for the method and, when it reads map criteria, against each
        null map of :attr:`nulls` (:func:`salcheck.science.findings.decide_finding`);
        undecidable when a cell it reads is not valid."""
        reasons = [
            r
            for op in (comparison.x, comparison.y)
            if isinstance(op, tuple)
            and (r := self.validity(op[0], op[1], atypical=reads_atypical(op[2])))
        ]
        if reasons:
            v = undecidable(comparison.claim, "; ".join(dict.fromkeys(reasons)), [], [])
            return FindingVerdict(v, {}, None, v)
        reads_maps = all(
            part_of(op[2]) == "maps" for op in (comparison.x, comparison.y) if isinstance(op, tuple)
        )
        nulls = {n.name: self.for_method(n).values for n in self.nulls} if reads_maps else {}
        return decide_finding(comparison, self.values, nulls)

    def decide(self, comparison: Comparison) -> Verdict:
        """The comparison's verdict for the method, beyond the nulls (:meth:`finding`)."""
        return self.finding(comparison).verdict

    def findings_available(self, comparisons: dict[str, Comparison]) -> dict[str, FindingVerdict | None]:
        """key -> the finding (:meth:`finding`), or None where a result it reads is missing."""
        out: dict[str, FindingVerdict | None] = {}
        for key, c in comparisons.items():
            try:
                out[key] = self.finding(c)
            except MissingResults:
                out[key] = None
        return out

    def decide_available(self, comparisons: dict[str, Comparison]) -> dict[str, Verdict | None]:
        """key -> verdict, or None where a result the comparison reads is missing."""
        return {k: f.verdict if f else None for k, f in self.findings_available(comparisons).items()}

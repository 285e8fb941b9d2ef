"""Do the study's findings hold on other networks? The same methods on several networks' models.

:func:`network_plan` trains, for each network, the default-training models of the three
training sets of a tier (the same cohorts and seeds for every network: a model's cohort and
split derive from its seed alone), and evaluates each method and every null map on them
(features and maps; no cascading randomisation, whose cost grows with the number of layers).
:func:`collect` reads the result, a :class:`NetworkBenchmark`, from the store: per network,
method and dataset the criteria a, b, c, b†, c† and the test accuracy; the study's findings
decidable on default models (F1, F2, F7), for the method and beyond the null maps; silent
equivalences between methods on each network; and what each network cost to train.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from salcheck.criteria import part_of
from salcheck.engine.plan import cells_plan
from salcheck.errors import InvalidArgument
from salcheck.saliency.resolve import MethodRef, null_refs, resolve
from salcheck.science.findings import Comparison, FindingVerdict
from salcheck.store.files import Store
from salcheck.store.tiers import Tier, check_seeds
from salcheck.store.view import ResultsView
from salcheck.studies.method_benchmark import DATASETS, DEFAULT_ONLY, EQUIVALENCE_TOLERANCE

if TYPE_CHECKING:
    from salcheck.engine.plan import Plan

#: The networks compared by default: the study's and two of MONAI's (``salcheck[monai]``).
#: The study's ConvNet and two MONAI networks that train at its cost here (a training step of
#: batch 2 at 64 x 64: about 20-26 ms on one thread for all three, against 207 ms for
#: ResNet10; DenseNet121, ResNet18 and ResNet10 are available by name for a larger machine).
DEFAULT_NETWORKS = ("convnet", "monai:Classifier", "monai:DenseNetSmall")
#: The methods compared by default: the study's gradient and three of MONAI's.
DEFAULT_METHODS = ("vanilla", "monai-smoothgrad", "monai-guided-backprop", "monai-grad-cam")
#: The criteria tabled per network, method and dataset (a is the model's).
SCORES = ("a", "b", "c", "b_dagger", "c_dagger")
#: The study's findings these models decide: those on default training that read the maps.
FINDINGS: dict[str, Comparison] = {
    k: c
    for k, c in DEFAULT_ONLY.items()
    if all(part_of(op[2]) == "maps" for op in (c.x, c.y) if isinstance(op, tuple))
}


@dataclass
class NetworkBenchmark:
    """Methods and null maps on the default models of several networks, read from the store."""

    tier: Tier
    seeds: tuple[int, ...]
    networks: tuple[str, ...]
    methods: list[MethodRef]
    nulls: list[MethodRef]
    store: Store
    _views: dict[tuple[str, str], ResultsView] = field(default_factory=dict, repr=False)

    def view(self, network: str, method: MethodRef) -> ResultsView:
        """The results of ``method`` on ``network``'s models (nulls set for the null rule)."""
        key = (network, method.fingerprint)
        if key not in self._views:
            tier = self.tier.with_network(network)
            self._views[key] = ResultsView(self.store, tier, method, seeds=self.seeds, nulls=self.nulls)
        return self._views[key]

    def values(self, network: str, method: MethodRef, dataset: str, score: str) -> list[float]:
        """One value of ``score`` per seed on ``dataset``'s default models of ``network``."""
        return self.view(network, method).values(dataset, "default", score)

    def mean(self, network: str, method: MethodRef, dataset: str, score: str) -> float:
        return float(np.mean(self.values(network, method, dataset, score)))

    def accuracy(self, network: str, dataset: str) -> list[float]:
        """Balanced test accuracy per seed."""
        runs = self.view(network, self.methods[0]).accuracy(dataset)
        return [float(r["balanced_accuracy"]) for r in runs]

    def chance(self, network: str, dataset: str, score: str) -> float:
        """The best null map's mean on ``network``'s models of ``dataset`` (NaN without nulls)."""
        means = [self.mean(network, n, dataset, score) for n in self.nulls]
        return max(means) if means else math.nan

    def findings(self) -> dict[str, dict[str, dict[str, FindingVerdict | None]]]:
        """network -> method spec -> finding -> its verdict, for the method and beyond the null
        maps (None where a result it reads is missing)."""
        return {
            n: {m.spec: self.view(n, m).findings_available(FINDINGS) for m in self.methods}
            for n in self.networks
        }

    def equivalences(self, network: str) -> list[tuple[MethodRef, MethodRef, float]]:
        """(a, b, largest relative difference) for every pair of methods whose group maps agree
        to :data:`EQUIVALENCE_TOLERANCE` on every model of ``network``."""
        out = []
        for i, a in enumerate(self.methods):
            for b in self.methods[i + 1 :]:
                diff = max(
                    _relative_difference(ra.maps[g], rb.maps[g])
                    for d in DATASETS
                    for ra, rb in zip(self._maps(network, a, d), self._maps(network, b, d), strict=True)
                    for g in ("typical", "atypical")
                )
                if diff <= EQUIVALENCE_TOLERANCE:
                    out.append((a, b, diff))
        return out

    def _maps(self, network: str, method: MethodRef, dataset: str) -> list[Any]:
        return self.view(network, method).evaluations(dataset, "default", "maps")

    def cost(self, network: str) -> dict[str, float]:
        """Mean seconds per training epoch and per model, and seconds spent evaluating."""
        view = self.view(network, self.methods[0])
        models = [r for d in DATASETS for r in view.models(d)]
        evaluate = sum(
            r.timings.get("total_s", 0.0)
            for m in [*self.methods, *self.nulls]
            for d in DATASETS
            for r in self._maps(network, m, d)
        )
        return {
            "s_per_epoch": float(np.mean([r.timings.get("s_per_epoch", math.nan) for r in models])),
            "train_s": float(np.mean([r.timings.get("train_s", math.nan) for r in models])),
            "evaluate_s": evaluate,
            "models": float(len(models)),
        }


def _relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()))
    if scale == 0:
        return 0.0
    return float(np.abs(np.asarray(a) - np.asarray(b)).max()) / scale


def network_plan(
    tier: Tier,
    networks: Sequence[str] = DEFAULT_NETWORKS,
    methods: Sequence[Any] = DEFAULT_METHODS,
    *,
    seeds: Iterable[int] | None = None,
) -> tuple[Plan, list[MethodRef]]:
    """The plan of the benchmark (features and maps of every method and null map on each
    network's default models of :data:`DATASETS`), with the methods, each resolved once. Every
    network and method is checked here, before anything is trained."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
    refs = [resolve(m) for m in dict.fromkeys(methods)]
    nulls = null_refs()  # resolved once per process
    tiers = [tier.with_network(n) for n in dict.fromkeys(networks)]
    cells = [(d, "default") for d in DATASETS]
    plan = None
    for t in tiers:
        part = cells_plan(t, cells, methods=[*refs, *nulls], parts=("features", "maps"), seeds=seeds)
        plan = part if plan is None else plan | part
    if plan is None:
        msg = "a network benchmark needs at least one network"
        raise InvalidArgument(msg)
    return plan, refs


def collect(
    tier: Tier,
    store: Store,
    networks: Sequence[str],
    methods: Sequence[Any],
    *,
    seeds: Iterable[int] | None = None,
) -> NetworkBenchmark:
    """The benchmark read from the store; raises ``MissingResults`` naming what its plan
    (:func:`network_plan`) has not computed."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
    bench = NetworkBenchmark(
        tier,
        seeds,
        tuple(dict.fromkeys(networks)),
        [resolve(m) for m in methods],
        null_refs(),
        store,
    )
    for n in bench.networks:
        for m in [*bench.methods, *bench.nulls]:
            for d in DATASETS:
                bench._maps(n, m, d)  # fail now, naming what is missing
    return bench

"""Which saliency method recovers the latent subtypes? Many methods on models trained once.

:func:`collect` evaluates each method (and the null maps) on the default-training models of
the three training sets of a tier, through the store, so a method is never trained for and a
rerun costs nothing. The result, a :class:`Benchmark`, answers:

- scores per method and dataset: mean ± sd over seeds of every criterion, beside the best
  null map's mean on the same models (:meth:`Benchmark.chance`);
- a ranking a user can act on (:meth:`Benchmark.ranking`): sanity first, each criterion against
  the best null map, intervals on every aggregate, neighbours' probabilities, Friedman's test
  (:mod:`salcheck.science.ranking`);
- silent equivalences (:meth:`Benchmark.equivalences`): two methods whose group maps agree to
  a relative 1e-3 on every model compute the same thing, whatever their names say;
- the study's findings that these models can decide, per method (:meth:`Benchmark.findings`);
- whether a null map outranks the study's gradient (:func:`null_outranks`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from salcheck.engine.checks import results_of
from salcheck.engine.plan import cells_plan, checks_plan
from salcheck.engine.tasks import CheckSuite
from salcheck.saliency.catalogue import METHODS, NULLS
from salcheck.saliency.resolve import MethodRef, null_refs, resolve
from salcheck.science.findings import NAMED, Comparison
from salcheck.science.ranking import RANK_CRITERIA, Ranking, Table, rank
from salcheck.science.stats import Verdict
from salcheck.store.files import Store
from salcheck.store.view import read_checks

if TYPE_CHECKING:
    from salcheck.engine.plan import Plan
from salcheck.store.records import Evaluation
from salcheck.store.tiers import Tier, check_seeds
from salcheck.store.view import ResultsView

#: The training sets of the benchmark, each with default training (the study's baseline).
DATASETS = ("homogeneous", "heterogeneous", "large")
#: Scores tabled per method: the criteria, localisation on typical images, and the sanity check.
SCORES = (
    "a",
    "b",
    "c",
    "b_dagger",
    "c_dagger",
    "rma_typical",
    "rra_typical",
    "auc_typical",
    "pointing_typical",
    "spearman_randomised",
)
#: Scores whose chance level the null maps set (the rest: a is the model's, rho is a check).
WITH_CHANCE = SCORES[1:9]
#: Relative tolerance under which two methods' group maps count as the same maps.
#: Two stored group maps this close (max |a - b| over the larger max |m|) are the same map: two
#: steps of the stored float16 (2^-11 of the map's largest magnitude), so float noise between
#: equal maps is not read as a difference.
EQUIVALENCE_TOLERANCE = 1e-3
#: The study's findings decidable on default-training models alone.
DEFAULT_ONLY: dict[str, Comparison] = {
    k: c for k, c in NAMED.items() if all(v == "default" for _, v in c.cells())
}


@dataclass(frozen=True)
class Entry:
    """One method of the benchmark and its results on each dataset's models (one per seed)."""

    key: str  # as given: a catalogue name or MODULE:OBJECT
    name: str
    null: bool
    tags: dict[str, bool | None]
    view: ResultsView = field(repr=False)

    @property
    def method(self) -> MethodRef:
        return self.view.method

    def runs(self, dataset: str) -> list[Evaluation]:
        """The method's maps evaluation per seed of the dataset's default models."""
        return self.view.evaluations(dataset, "default", "maps")

    def values(self, dataset: str, score: str) -> list[float]:
        if score == "s_per_1000_maps":
            return [float(r.timings.get(score, float("nan"))) for r in self.runs(dataset)]
        return self.view.values(dataset, "default", score)

    def mean(self, dataset: str, score: str) -> float:
        return float(np.mean(self.values(dataset, score)))


@dataclass
class Benchmark:
    tier: Tier
    seeds: tuple[int, ...]
    entries: list[Entry]
    store: Store

    @property
    def methods(self) -> list[Entry]:
        return [e for e in self.entries if not e.null]

    @property
    def nulls(self) -> list[Entry]:
        return [e for e in self.entries if e.null]

    def entry(self, key: str) -> Entry:
        for e in self.entries:
            if e.key == key:
                return e
        msg = f"no method {key!r} in the benchmark; it has {', '.join(e.key for e in self.entries)}"
        raise KeyError(msg)

    def chance(self, dataset: str, score: str) -> float:
        """The best null map's mean on ``dataset`` (NaN without nulls)."""
        means = [e.mean(dataset, score) for e in self.nulls]
        return max(means) if means else math.nan

    def ranking(self) -> Ranking:
        """The methods ranked sanity first (:func:`salcheck.science.ranking.rank`): their b, c,
        b†, c† as log ratios to the best null map on the same models and seeds, aggregated with
        stratified bootstrap intervals; randomisation sensitivity read from each method's stored
        check suite, beating the nulls on b and c from the intervals. Methods whose scores are
        exactly equal on every model share one row (:func:`salcheck.science.ranking.identical_methods`;
        :meth:`equivalences` compares the maps, to a tolerance, for the page's own section); rows
        still tied keep the order of the benchmark's methods, never their names'."""
        table: Callable[[list[Entry]], Table] = lambda entries: {
            e.key: {d: {k: e.values(d, k) for k in RANK_CRITERIA} for d in DATASETS} for e in entries
        }
        ranked = [e for e in self.methods if e.key not in self.unrankable()]
        sanity = {}
        for e in ranked:
            results = {r.check: r for r in self.checks(e)}
            check = results.get("check_randomisation_sensitivity")
            sanity[e.key] = {} if check is None or check.skipped else {check.check: check.passed}
        return rank(table(ranked), table(self.nulls), sanity)

    def unrankable(self) -> dict[str, str]:
        """method key -> why it cannot be ranked: a ranked criterion undefined or not positive
        on some model (0/0 when its maps are all zero), so no log ratio to the nulls exists."""
        out = {}
        for e in self.methods:
            bad = [
                f"{k} on {d}"
                for d in DATASETS
                for k in RANK_CRITERIA
                if not all(math.isfinite(v) and v > 0 for v in e.values(d, k))
            ]
            if bad:
                out[e.key] = f"undefined or not positive: {', '.join(bad)}"
        return out

    def equivalences(self) -> list[tuple[Entry, Entry, float]]:
        """(a, b, largest relative difference) for every pair whose maps agree on every model."""
        out = []
        for i, a in enumerate(self.entries):
            for b in self.entries[i + 1 :]:
                diff = max(
                    _relative_difference(ra.maps[g], rb.maps[g])
                    for d in DATASETS
                    for ra, rb in zip(a.runs(d), b.runs(d), strict=True)
                    for g in ("typical", "atypical")
                )
                if diff <= EQUIVALENCE_TOLERANCE:
                    out.append((a, b, diff))
        return out

    def findings(self) -> dict[str, dict[str, Verdict | None]]:
        """method key -> finding -> verdict (None where a cell is missing from the store): each
        method's findings beyond the benchmark's null maps on the same models (the rule of the
        properties and the report); a null map's own verdicts stand for themselves."""
        nulls = [e.method for e in self.nulls]
        out = {}
        for e in self.entries:
            view = e.view if e.null else e.view.with_nulls(nulls)
            out[e.key] = view.decide_available(DEFAULT_ONLY)
        return out

    def cost(self) -> dict[str, float]:
        """Seconds spent evaluating every method (maps and randomisation), and training the
        models they share."""
        evaluate = sum(
            r.timings.get("total_s", 0.0)
            for e in self.entries
            for d in DATASETS
            for part in ("maps", "randomisation")
            for r in e.view.evaluations(d, "default", part)
        )
        view = self.entries[0].view
        train = sum(r.timings.get("train_s", 0.0) for d in DATASETS for r in view.models(d))
        return {"evaluate_s": evaluate, "train_s": train}

    def checks(self, entry: Entry) -> list[Any]:
        """The stored check-suite results of a method (computed by :func:`benchmark_plan`'s
        plan)."""
        suite = CheckSuite(entry.method, self.tier, self.seeds, entry.view.protocol)
        return results_of(read_checks(self.store, suite.key()))


def _relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()))
    if scale == 0:
        return 0.0
    return float(np.abs(np.asarray(a) - np.asarray(b)).max()) / scale


def null_outranks(
    bench: Benchmark, reference: str = "vanilla", criteria: Iterable[str] = ("b", "c")
) -> list[str]:
    """Each (null, dataset, criterion) where a null map's mean is not below ``reference``'s; a
    mean that is undefined on a seed (NaN) is not below, and is said so in words, not ``nan``."""
    ref = bench.entry(reference)
    out = []
    for null in bench.nulls:
        for d in DATASETS:
            for k in criteria:
                x, y = null.mean(d, k), ref.mean(d, k)
                if math.isnan(x) or math.isnan(y):
                    out.append(
                        f"{null.name} {k} on {d}: {_mean_text(x)} against {ref.name} "
                        f"{_mean_text(y)}, not comparable"
                    )
                elif not x < y:
                    out.append(f"{null.name} {k} on {d}: {_mean_text(x)} >= {ref.name} {_mean_text(y)}")
    return out


def _mean_text(x: float) -> str:
    """A mean over seeds for :func:`null_outranks`'s lines: NaN in words (never ``nan``)."""
    if math.isnan(x):
        return "undefined (on some seed: 0/0, or no image in the group)"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.3g}"


def default_methods() -> list[str]:
    """The catalogue's methods, then its nulls."""
    return [*METHODS, *NULLS]


def benchmark_plan(
    tier: Tier, methods: Sequence[Any] | None = None, *, seeds: Iterable[int] | None = None
) -> tuple[Plan, list[MethodRef]]:
    """The plan of a benchmark of ``methods`` (default: :func:`default_methods`) with every
    null map: each method's maps and randomisation curve on the default models of
    :data:`DATASETS`, the models' features, and each method's check suite; with the methods,
    each resolved once."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
    keys = list(dict.fromkeys([*(methods or default_methods()), *NULLS]))
    nulls = {ref.spec: ref for ref in null_refs()}  # resolved once per process
    # each resolved once (the check suites read the same null refs); fails early on a bad name
    refs = [nulls[k] if isinstance(k, str) and k in nulls else resolve(k) for k in keys]
    cells = [(d, "default") for d in DATASETS]
    plan = cells_plan(
        tier, cells, methods=refs, parts=("features", "maps", "randomisation"), seeds=seeds
    )
    for ref in refs:
        plan |= checks_plan(tier, ref, seeds=seeds)
    return plan, refs


def collect(
    tier: Tier, store: Store, methods: Sequence[Any], *, seeds: Iterable[int] | None = None
) -> Benchmark:
    """The benchmark of ``methods`` (resolved refs, as :func:`benchmark_plan` returns them),
    read from the store; raises ``MissingResults`` naming what its plan has not computed."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
    null_specs = set(NULLS)
    entries = []
    for method in methods:
        ref = resolve(method)
        view = ResultsView(store, tier, ref, seeds=seeds)
        for d in DATASETS:
            view.evaluations(d, "default", "maps")  # fail now, naming what is missing
        entries.append(Entry(ref.spec, ref.name, ref.spec in null_specs, dict(ref.tags), view))
    return Benchmark(tier, seeds, entries, store)

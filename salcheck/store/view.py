"""One view of results, (store, tier, method, seeds), read by every consumer.

The pytest plugin, the report, ``salcheck verdicts`` and the check suite all read criteria
through :class:`ResultsView`. With ``compute=True`` a missing model is trained and a missing
evaluation computed (the first request computes the whole tier at once, on ``workers``
processes); with ``compute=False`` missing cells are reported as missing.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from typing import Any

from salcheck.engine.runner import CellOutcome, evaluation_entry, run_grid, trained_model
from salcheck.errors import SalcheckError
from salcheck.saliency.resolve import DEFAULT_METHOD, method_fingerprint, method_name, resolve_method
from salcheck.science.findings import Comparison, decide
from salcheck.science.stats import Verdict
from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec
from salcheck.store.records import Scores
from salcheck.store.tiers import Tier, check_seeds


def _abs_log(x: float) -> float:
    """|log x|; inf for x = 0 (a ratio with an empty numerator), NaN for NaN or x < 0."""
    return abs(math.log(x)) if x > 0 else math.inf if x == 0 else math.nan


#: Criteria derived from an evaluation's cascading-randomisation curve (F8).
DERIVED = {
    "abs_log_b": lambda r: _abs_log(r[0]["b"]),
    "abs_log_c": lambda r: _abs_log(r[0]["c"]),
    "abs_log_b_randomised": lambda r: _abs_log(r[-1]["b"]),
    "abs_log_c_randomised": lambda r: _abs_log(r[-1]["c"]),
    "spearman_randomised": lambda r: r[-1]["spearman"],
}


def score_values(runs: Iterable[Scores], criterion: str) -> list[float]:
    """``criterion`` of each evaluation: a stored criterion, or one of :data:`DERIVED`."""
    if criterion in DERIVED:
        return [float(DERIVED[criterion](r.randomisation)) for r in runs]
    out = []
    for r in runs:
        if criterion not in r.criteria:
            msg = f"the evaluation of {r.method} on {r.model.label()} has no criterion {criterion!r}"
            raise MissingResults(msg)
        out.append(float(r.criteria[criterion]))
    return out


class MissingResults(SalcheckError, LookupError):
    """A cell has no stored result and the view may not compute it."""


class ResultsView:
    """Scores of one saliency method on a tier's models, per seed."""

    def __init__(
        self,
        store: Store,
        tier: Tier,
        method: Any = DEFAULT_METHOD,
        *,
        seeds: Iterable[int] | None = None,
        compute: bool = True,
        workers: int = 1,
        whole_tier: bool = True,
        device: str = "cpu",
        batch_models: int | None = None,
        on_cell: Callable[[CellOutcome], None] | None = None,
    ) -> None:
        self.store, self.tier, self.compute, self.workers = store, tier, compute, workers
        self.device, self.batch_models = device, batch_models
        self.method_spec = method  # a name (run in workers) or an object
        self.method = resolve_method(method)
        self.seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
        self.on_cell = on_cell or (
            lambda o: print(f"[salcheck] {o.line()}", file=sys.__stderr__, flush=True)
        )
        self._scores: dict[ModelSpec, Scores] = {}
        self._tier_done = not whole_tier  # True: compute only the cells asked for

    @property
    def method_name(self) -> str:
        return method_name(self.method)

    @property
    def cacheable(self) -> bool:
        return method_fingerprint(self.method) is not None

    def specs(self, dataset: str, variant: str = "default", **overrides: Any) -> list[ModelSpec]:
        return [self.tier.spec(dataset, variant, s, **overrides) for s in self.seeds]

    def scores(self, dataset: str, variant: str = "default", **overrides: Any) -> list[Scores]:
        """One evaluation per seed of (dataset, variant); raises if one failed or is missing."""
        specs = self.specs(dataset, variant, **overrides)
        missing = [s for s in specs if s not in self._scores]
        if missing:
            if self.compute and not overrides and not self._tier_done:
                self._tier_done = True
                self._fill(self.tier.grid(seeds=self.seeds))  # the whole tier, at once
            self._fill([s for s in specs if s not in self._scores])
        failed = [self._scores[s] for s in specs if self._scores[s].status != "done"]
        if failed:
            msg = "; ".join(f"{f.model.label()}: {f.error}" for f in failed)
            raise SalcheckError(f"evaluations failed: {msg}")
        return [self._scores[s] for s in specs]

    def _fill(self, specs: list[ModelSpec]) -> None:
        from salcheck.engine.experiment import evaluation_key

        test = self.tier.test()
        todo = []
        fingerprint = method_fingerprint(self.method)
        for spec in specs:
            entry = (
                None
                if fingerprint is None
                else self.store.get("evaluations", evaluation_key(spec, test, fingerprint))
            )
            if entry is not None and entry.get("status") == "done":
                self._scores[spec] = Scores.from_dict(entry)
            else:
                todo.append(spec)
        if not todo:
            return
        if not self.compute:
            raise MissingResults(f"{len(todo)} evaluations missing, e.g. {todo[0].label()}")
        method = self.method_spec if isinstance(self.method_spec, str) else self.method
        run_grid(
            todo,
            self.store,
            test=test,
            methods=[method] if isinstance(method, str) else (),
            workers=self.workers,
            device=self.device,
            batch_models=self.batch_models,
            on_cell=self.on_cell,
        )
        for spec in todo:
            self._scores[spec], _ = evaluation_entry(self.store, spec, test, self.method)

    def available(self, dataset: str, variant: str = "default") -> bool:
        """Whether every seed of the cell is evaluated (never computes)."""
        try:
            compute, self.compute = self.compute, False
            self.scores(dataset, variant)
            return True
        except (MissingResults, SalcheckError):
            return False
        finally:
            self.compute = compute

    def values(self, dataset: str, variant: str, criterion: str) -> list[float]:
        """One criterion (or a criterion derived from the randomisation curve) per seed."""
        return score_values(self.scores(dataset, variant), criterion)

    def decide(self, comparison: Comparison) -> Verdict:
        return decide(comparison, self.values)

    def decide_available(self, comparisons: dict[str, Comparison]) -> dict[str, Verdict | None]:
        """key -> verdict, or None where one of the comparison's cells is missing."""
        return {
            key: self.decide(c) if all(self.available(*cell) for cell in c.cells()) else None
            for key, c in comparisons.items()
        }

    def models(self, dataset: str = "homogeneous", variant: str = "default") -> list[tuple]:
        """(spec, trained network) per seed; trains missing models (on the workers) when
        computing."""
        specs = self.specs(dataset, variant)
        missing = [s for s in specs if self.store.get("models", s.key()) is None]
        if missing and self.compute:
            run_grid(
                missing,
                self.store,
                test=self.tier.test(),
                methods=(),
                workers=self.workers,
                device=self.device,
                batch_models=self.batch_models,
                on_cell=self.on_cell,
            )
        out = []
        for spec in specs:
            if not self.compute:
                record = self.store.get("models", spec.key())
                if record is None:
                    raise MissingResults(f"model {spec.label()} is not in {self.store.root}")
            out.append((spec, trained_model(self.store, spec)))
        return out

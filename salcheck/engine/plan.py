"""The one computing entry: a :class:`Plan` says which models, evaluations and check suites are
needed; :func:`execute` makes the store hold them. Everything else only reads the store.

A plan is a set of :class:`Task` (train a model; compute one part of an evaluation: the
model's ``features``, a method's ``maps`` or its ``randomisation`` curve) and of check suites
(a method on a tier's reference models). Builders turn what a consumer asks for into tasks:
:func:`cells_plan` (cells of a tier, for methods and parts), :func:`comparisons_plan` (what the
study's comparisons read: each criterion declares its part, so cascading randomisation is
computed only where F8 or the randomisation check reads it), :func:`checks_plan`.
:meth:`Plan.missing` is what the store lacks: executing a finished plan starts no worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from salcheck.criteria import EvalProtocol, part_of
from salcheck.engine.checks import null_method_refs
from salcheck.engine.runner import run_checks, run_tasks
from salcheck.engine.tasks import CheckSuite, Task
from salcheck.errors import InvalidArgument
from salcheck.saliency.resolve import MethodRef, null_refs, resolve
from salcheck.science.findings import A_CLOSE_TO_ONE, ALL, NAMED
from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec, TestSpec
from salcheck.store.tiers import Tier, check_seeds


@dataclass(frozen=True)
class Plan:
    """What a consumer needs from the store: tasks (deduplicated, in order) and check suites."""

    test: TestSpec
    tasks: tuple[Task, ...] = ()
    checks: tuple[CheckSuite, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(dict.fromkeys(self.tasks)))
        object.__setattr__(self, "checks", tuple(dict.fromkeys(self.checks)))

    def __or__(self, other: Plan) -> Plan:
        if other.test != self.test:
            msg = f"plans on different test sets cannot be joined: {self.test} and {other.test}"
            raise InvalidArgument(msg)
        return Plan(self.test, self.tasks + other.tasks, self.checks + other.checks)

    def models(self) -> list[ModelSpec]:
        """Every model the plan's tasks and check suites need, in order."""
        specs = [t.spec for t in self.tasks] + [s for c in self.checks for s in c.models()]
        return list(dict.fromkeys(specs))

    def trained_only(self, store: Store) -> Plan:
        """The plan without training: the evaluations (and check suites) of the models the
        store holds, nothing of the others."""
        held = {s for s in self.models() if _done(store, "models", s.key())}
        tasks = tuple(t for t in self.tasks if t.part != "model" and t.spec in held)
        checks = tuple(c for c in self.checks if all(s in held for s in c.models()))
        return Plan(self.test, tasks, checks)

    def missing(self, store: Store) -> Plan:
        """The part of the plan the store does not hold (with the models its tasks need)."""
        todo = [t for t in self.with_models() if not _done(store, t.kind, t.key(self.test))]
        checks = [c for c in self.checks if not _done(store, "checks", c.key())]
        for c in checks:  # a check suite reads the models and evaluations it needs
            todo += [t for t in check_tasks(c) if not _done(store, t.kind, t.key(self.test))]
        return Plan(self.test, tuple(todo), tuple(checks))

    def with_models(self) -> list[Task]:
        """Every task, with a model task for each model the plan needs."""
        return [Task("model", s) for s in self.models()] + [t for t in self.tasks if t.part != "model"]

    def __len__(self) -> int:
        return len(self.tasks) + len(self.checks)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for t in self.tasks:
            counts[t.part] = counts.get(t.part, 0) + 1
        if self.checks:
            counts["check suites"] = len(self.checks)
        return (
            ", ".join(f"{n} {_NOUNS.get(k, k)}{'' if n == 1 else 's'}" for k, n in counts.items())
            or "nothing"
        )


#: What one task of each part is called in a plan's summary.
_NOUNS = {
    "model": "model",
    "features": "features evaluation",
    "maps": "maps evaluation",
    "randomisation": "randomisation curve",
    "check suites": "check suite",
}


def _done(store: Store, kind: str, key: str) -> bool:
    entry = store.get(kind, key)
    return bool(entry and entry.get("status") == "done")


def evaluation_tasks(
    specs: Iterable[ModelSpec],
    methods: Sequence[MethodRef],
    parts: Iterable[str],
    protocol: EvalProtocol,
) -> list[Task]:
    """The tasks that evaluate ``methods`` on every model of ``specs`` for ``parts``."""
    out = []
    for spec in specs:
        for part in parts:
            if part == "features":
                out.append(Task("features", spec))
            else:
                out += [Task(part, spec, m, protocol) for m in methods]
    return out


def specs_plan(
    test: TestSpec,
    specs: Iterable[ModelSpec],
    *,
    methods: Sequence[Any] = ("vanilla",),
    parts: Iterable[str] = ("features", "maps"),
    protocol: EvalProtocol | None = None,
) -> Plan:
    """Train every model of ``specs`` and evaluate each method on it for ``parts`` (none: the
    models only), on the test set ``test``. Building a plan computes nothing.

    Examples:
        >>> from salcheck.store.tiers import get_tier
        >>> ci = get_tier("ci")
        >>> specs = [ci.spec("homogeneous", "default", s) for s in (0, 1)]
        >>> plan = specs_plan(ci.test(), specs, methods=["vanilla"], parts=("features", "maps"))
        >>> plan.summary()
        '2 models, 2 features evaluations, 2 maps evaluations'
        >>> import tempfile
        >>> plan.missing(Store(tempfile.mkdtemp(), layers=())).summary()  # no zoo: lacks it all
        '2 models, 2 features evaluations, 2 maps evaluations'
    """
    specs = list(specs)
    refs = [resolve(m) for m in methods]
    tasks = [Task("model", s) for s in specs]
    tasks += evaluation_tasks(specs, refs, tuple(parts), protocol or EvalProtocol())
    return Plan(test, tuple(tasks))


def cells_plan(
    tier: Tier,
    cells: Iterable[tuple[str, str]] | None = None,
    *,
    methods: Sequence[Any] = ("vanilla",),
    parts: Iterable[str] = ("features", "maps"),
    seeds: Iterable[int] | None = None,
    protocol: EvalProtocol | None = None,
) -> Plan:
    """Train every model of ``cells`` (default: the tier's) x ``seeds`` and evaluate each method
    on it for ``parts``; with no parts, only the models."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds)
    cells = list(cells) if cells is not None else tier.cells()
    specs = [tier.spec(d, v, s) for d, v in cells for s in seeds]
    return specs_plan(
        tier.test(), specs, methods=methods, parts=parts, protocol=protocol or tier.evaluation
    )


Operand = tuple[str, str, str] | float


def in_grid(tier: Tier, comparisons: Iterable[Any]) -> list[Any]:
    """The comparisons whose every cell operand is a cell of ``tier``'s grid."""
    grid = set(tier.cells())
    return [c for c in comparisons if set(c.cells()) <= grid]


def comparisons_plan(
    tier: Tier,
    comparisons: Iterable[Any],
    *,
    methods: Sequence[Any] = ("vanilla",),
    seeds: Iterable[int] | None = None,
    protocol: EvalProtocol | None = None,
) -> Plan:
    """What deciding ``comparisons`` (``science.findings.Comparison``) reads, for each method:
    per cell operand and seed, the part its criterion lives in (:func:`part_of`). A comparison
    on a cell outside the tier's grid (a variant of a tier that trains the default cells only)
    is left out: the tier cannot decide it."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds)
    refs = [resolve(m) for m in methods]
    protocol = protocol or tier.evaluation
    tasks: list[Task] = []
    for c in in_grid(tier, comparisons):
        for operand in (c.x, c.y):
            if isinstance(operand, tuple):
                dataset, variant, criterion = operand
                specs = [tier.spec(dataset, variant, s) for s in seeds]
                tasks += evaluation_tasks(specs, refs, (part_of(criterion),), protocol)
    return Plan(tier.test(), tuple(tasks))


def check_tasks(suite: CheckSuite) -> list[Task]:
    """The evaluations a check suite reads: the method's maps and randomisation curve on the
    reference models, and the null maps' maps there (relevance mass against the nulls)."""
    nulls = null_method_refs()  # resolved once per process
    specs = suite.models()
    return evaluation_tasks(
        specs, [suite.method], ("maps", "randomisation"), suite.protocol
    ) + evaluation_tasks(specs, nulls, ("maps",), suite.protocol)


def checks_plan(tier: Tier, method: Any, *, seeds: Iterable[int] | None = None) -> Plan:
    """The check suite of ``method`` on ``tier`` (with the evaluations it reads)."""
    seeds = check_seeds(tier.seeds if seeds is None else seeds)
    suite = CheckSuite(resolve(method), tier, seeds, tier.evaluation)
    return Plan(tier.test(), tuple(check_tasks(suite)), (suite,))


def execute(
    plan: Plan,
    store: Store,
    *,
    workers: int = 1,
    device: str = "cpu",
    batch_models: int | None = None,
    threads: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    on_progress: Callable[[Any], None] | None = None,
) -> list[Any]:
    """Make ``store`` hold ``plan``: train the missing models, compute the missing evaluations
    (one worker task each), then the missing check suites; returns every outcome. A finished
    plan returns at once, with no worker started.

    Examples:
        >>> import tempfile
        >>> from salcheck.store.tiers import get_tier
        >>> execute(Plan(get_tier("ci").test()), Store(tempfile.mkdtemp()))   # nothing to do
        []
    """
    todo = plan.missing(store)
    if not len(todo):
        return []
    outcomes = run_tasks(
        todo.tasks,
        store,
        test=plan.test,
        workers=workers,
        device=device,
        batch_models=batch_models,
        threads=threads,
        scheduler=scheduler,
        dask_local=dask_local,
        on_progress=on_progress,
    )
    return outcomes + run_checks(todo.checks, store, device=device, on_progress=on_progress)


#: The comparisons the null rule applies to read map criteria (b, c, b†, c†); criterion a is
#: the model's (the same for every map) and F8 compares the model with its own randomisation.
def map_comparisons(comparisons: dict[str, Any]) -> dict[str, Any]:
    """The comparisons whose every cell operand is a criterion of the maps."""
    return {
        k: c
        for k, c in comparisons.items()
        if all(part_of(op[2]) == "maps" for op in (c.x, c.y) if isinstance(op, tuple))
    }


def properties_plan(tier: Tier, method: Any, *, seeds: Iterable[int] | None = None) -> Plan:
    """What the property suite reads: every named finding and "a close to 1" for ``method``;
    for the null rule, the named findings on map criteria for each null map; and the nulls on
    the three datasets' default models (no null outranks the method)."""
    plan = comparisons_plan(
        tier, [*NAMED.values(), *A_CLOSE_TO_ONE.values()], methods=[method], seeds=seeds
    )
    plan |= comparisons_plan(tier, map_comparisons(NAMED).values(), methods=null_refs(), seeds=seeds)
    defaults = [(d, "default") for d in ("homogeneous", "heterogeneous", "large")]
    return plan | cells_plan(
        tier, defaults, methods=[method, *null_refs()], parts=("maps",), seeds=seeds
    )


def report_plan(tier: Tier, method: Any, *, seeds: Iterable[int] | None = None) -> Plan:
    """What a tier's report reads: every cell of the tier (the F2 control included) for
    ``method`` and the null maps, and F8's randomisation curves."""
    plan = cells_plan(tier, methods=[method, *null_refs()], parts=("features", "maps"), seeds=seeds)
    return plan | comparisons_plan(tier, ALL.values(), methods=[method], seeds=seeds)

"""Run grids through a store: train each model once, evaluate each method on it.

Every backend calls :func:`run_cell` (train, or find, the model; then evaluate each method
given by name), so finished work costs nothing and per-entry locks stop two processes computing
the same entry. Any exception becomes a stored ``failed`` record and the grid goes on; a failed
record is computed again on the next run. Workers run torch with one thread each by default
(``threads``), which both uses a small CPU best (two one-thread trainings on 2 cores do 1.7x
the work of one two-thread training here) and keeps the float path the same whatever the
machine's core count.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salcheck.engine.experiment import (
    evaluate,
    evaluation_identity,
    load_model,
    test_cohort,
    train_model,
    weights_bytes,
)
from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.provenance import provenance
from salcheck.saliency.resolve import method_fingerprint, method_name, resolve_method
from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec, TestSpec, content_key
from salcheck.store.records import ModelResult, Scores


@dataclass(frozen=True)
class CellOutcome:
    """What happened to one (model, method) pair of a grid."""

    spec: ModelSpec
    method: str | None  # None: the model only
    status: str  # done or failed
    cached: bool
    seconds: float
    error: str | None = None
    criteria: dict[str, float] | None = None

    @classmethod
    def of(cls, scores: Scores, cached: bool, seconds: float) -> CellOutcome:
        """The outcome of one evaluation."""
        return cls(
            scores.model,
            scores.method,
            scores.status,
            cached,
            seconds,
            scores.error,
            scores.criteria or None,
        )

    def line(self) -> str:
        """A one-line status for progress output, with the criteria of an evaluation."""
        what = self.spec.label() + (f" [{self.method}]" if self.method else " [model]")
        if self.status != "done":
            return f"FAILED {what}: {self.error}"
        how = "cached" if self.cached else f"{self.seconds:.0f}s"
        if self.criteria is None:
            return f"done   {what} ({how})"
        c = self.criteria
        nums = " ".join(
            f"{k}={c.get(key, float('nan')):.2f}"
            for k, key in (("a", "a"), ("b", "b"), ("c", "c"), ("b†", "b_dagger"), ("c†", "c_dagger"))
        )
        return f"done   {what} ({how}): {nums}"


def model_entry(
    store: Store, spec: ModelSpec, device: str = "cpu"
) -> tuple[ModelResult, bytes | None, bool]:
    """(record, weights, cached): the stored model, or train it on ``device`` and store it."""
    key = spec.key()
    state: dict[str, bytes | None] = {}

    def compute() -> dict[str, Any]:
        try:
            (record, model), *siblings = train_model(spec, device=device)
            data = weights_bytes(model)
            record.weights_sha256 = store.put_blob("models", key, data)
            state["weights"] = data
            for sibling, net in siblings:  # the same run's model under another selection rule
                _put_model(store, sibling, net, only_if_absent=True)
        except Exception as exc:  # a failing cell is recorded, and the grid goes on
            record = ModelResult(
                spec=spec,
                status="failed",
                error=f"{type(exc).__name__}: {exc}",
                provenance=provenance(traceback=traceback.format_exc()),
            )
        return record.to_dict()

    def usable(entry: dict[str, Any]) -> bool:
        if entry.get("status") != "done":
            return False
        state["weights"] = store.get_blob("models", key, entry.get("weights_sha256"))
        return state["weights"] is not None

    entry, cached = store.get_or_compute("models", key, compute, usable=usable)
    return ModelResult.from_dict(entry), state.get("weights"), cached


def _put_model(store: Store, record: ModelResult, model: Any, *, only_if_absent: bool = False) -> None:
    """Store a trained model's weights, then its record (so no record points at missing
    weights); with ``only_if_absent``, leave a finished entry of the same key as it is."""
    key = record.spec.key()
    if only_if_absent and _has_model(store, record.spec):
        return
    record.weights_sha256 = store.put_blob("models", key, weights_bytes(model))
    store.put("models", key, record.to_dict())


def trained_model(store: Store, spec: ModelSpec, device: str = "cpu"):
    """The trained network of ``spec`` on ``device`` (trained now if the store lacks it)."""
    record, data, _ = model_entry(store, spec, device)
    if record.status != "done" or data is None:
        msg = f"model {spec.label()} failed: {record.error}"
        raise SalcheckError(msg)
    return load_model(spec, data, device)


def evaluation_entry(
    store: Store, spec: ModelSpec, test: TestSpec, method: Any, model: Any = None
) -> tuple[Scores, bool]:
    """(scores, cached) of ``method`` on the model of ``spec``. A method without a
    fingerprint (unreadable source) is evaluated afresh every time and never stored."""
    fingerprint = method_fingerprint(method)
    identity = None if fingerprint is None else evaluation_identity(spec, test, fingerprint)

    def compute() -> dict[str, Any]:
        try:
            net = model if model is not None else trained_model(store, spec)
            scores = evaluate(method, net, test_cohort(test), spec=spec, test_spec=test)
        except Exception as exc:
            scores = Scores(
                model=spec,
                method=method_name(method),
                fingerprint=fingerprint,
                status="failed",
                error=f"{type(exc).__name__}: {exc}",
                provenance=provenance(traceback=traceback.format_exc()),
            )
        scores.identity = identity  # its key is recomputed from it (keys.evaluation_entry_key)
        return scores.to_dict()

    if identity is None:
        return Scores.from_dict(compute()), False
    entry, cached = store.get_or_compute(
        "evaluations",
        content_key(identity),
        compute,
        usable=lambda e: e.get("status") == "done",
    )
    return Scores.from_dict(entry), cached


def run_cell(
    spec: ModelSpec | dict[str, Any],
    store_root: str | os.PathLike[str],
    test: TestSpec | dict[str, Any],
    methods: Sequence[Any] = (),
    threads: int | None = None,
    device: str = "cpu",
) -> list[CellOutcome]:
    """Train (or find) one model on ``device``, then evaluate each method on it, through the
    store."""
    spec = ModelSpec.from_dict(spec) if isinstance(spec, dict) else spec
    test = (
        TestSpec(**{k: v for k, v in test.items() if k != "cohort_format"})
        if isinstance(test, dict)
        else test
    )
    if threads:
        import torch

        torch.set_num_threads(threads)
    store = Store(store_root)
    t = time.perf_counter()
    record, data, cached = model_entry(store, spec, device)
    out = [CellOutcome(spec, None, record.status, cached, time.perf_counter() - t, record.error)]
    if record.status != "done" or data is None:
        return out
    model = None if not methods else load_model(spec, data, device)
    for m in methods:
        t = time.perf_counter()
        scores, hit = evaluation_entry(store, spec, test, resolve_method(m), model)
        out.append(CellOutcome.of(scores, hit, time.perf_counter() - t))
    return out


def train_group(
    specs: Sequence[ModelSpec | dict[str, Any]],
    store_root: str | os.PathLike[str],
    threads: int | None = None,
    device: str = "cpu",
) -> list[CellOutcome]:
    """Train the models of ``specs`` (one cell, several seeds) that the store lacks, at once
    (:mod:`salcheck.training.batched`), holding every entry's lock; falls back to one at a time when
    the batched training fails."""
    import contextlib

    from salcheck.engine.experiment import train_together

    if threads:
        import torch

        torch.set_num_threads(threads)
    store = Store(store_root)
    cell = [ModelSpec.from_dict(s) if isinstance(s, dict) else s for s in specs]
    t = time.perf_counter()
    with contextlib.ExitStack() as locks:
        for spec in sorted(cell, key=lambda s: s.key()):
            locks.enter_context(store.lock("models", spec.key()))
        todo = [s for s in cell if not _has_model(store, s)]
        if len(todo) > 1:
            try:
                for record, model in train_together(todo, device=device):
                    _put_model(store, record, model, only_if_absent=record.spec not in todo)
            except Exception as exc:  # one at a time below, each failure recorded on its own
                store.warn(f"batched training of {todo[0].label()} failed ({exc}); one at a time")
    out = []
    for spec in cell:
        record, _, cached = model_entry(store, spec, device)
        out.append(
            CellOutcome(
                spec,
                None,
                record.status,
                cached and spec not in todo,
                time.perf_counter() - t,
                record.error,
            )
        )
    return out


def _has_model(store: Store, spec: ModelSpec) -> bool:
    entry = store.get("models", spec.key())
    return bool(entry and entry.get("status") == "done")


def groups_of(specs: Sequence[ModelSpec], size: int) -> list[list[ModelSpec]]:
    """Specs that differ in the seed only, in groups of at most ``size`` (order kept)."""
    from dataclasses import replace

    from salcheck.training.batched import supports

    cells: dict[ModelSpec, list[ModelSpec]] = {}
    for spec in specs:
        key = replace(spec, seed=0) if size > 1 and supports(spec.train_config()) else spec
        cells.setdefault(key, []).append(spec)
    return [g[i : i + size] for g in cells.values() for i in range(0, len(g), max(size, 1))]


def resolve_batch(batch_models: int | None, device: str) -> int:
    """Models per batched training: ``batch_models``, else 8 on CUDA and 1 (one at a time)
    on a CPU, where it measured only 1.04-1.17x faster (README, Performance)."""
    if batch_models is None:
        return 8 if device == "cuda" else 1
    if isinstance(batch_models, bool) or not isinstance(batch_models, int) or batch_models < 1:
        msg = f"batch_models must be an integer >= 1, got batch_models={batch_models!r}"
        raise InvalidArgument(msg)
    return batch_models


def run_grid(
    specs: Iterable[ModelSpec],
    store: Store,
    *,
    test: TestSpec,
    methods: Sequence[Any] = ("vanilla",),
    workers: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    threads: int | None = None,
    device: str = "cpu",
    batch_models: int | None = None,
    on_cell: Callable[[CellOutcome], None] | None = None,
) -> list[CellOutcome]:
    """Train every model once and evaluate every method on each; ``on_cell`` sees each outcome.

    Backends: in-process (``workers`` 1); a local process pool (``workers`` > 1); an existing
    Dask scheduler (``scheduler``); a Dask LocalCluster (``dask_local`` workers). Methods
    given by name are evaluated in the workers; method objects in this process. ``threads``:
    torch threads per worker (default 1 with several workers). ``device``: cpu, cuda or auto
    (recorded in each result's provenance). ``batch_models``: models of one cell trained at
    once (:func:`resolve_batch`; local backends only).
    """
    from salcheck.training.loop import resolve_device

    device = resolve_device(device)
    batch = resolve_batch(batch_models, device)
    specs = list(dict.fromkeys(specs))
    check_workers(workers)
    on_cell = on_cell or (lambda outcome: None)
    named = [m for m in methods if isinstance(m, str)]
    objects = [m for m in methods if not isinstance(m, str)]
    root = str(store.root)
    if scheduler or dask_local:
        outcomes = _run_dask(specs, root, test, named, scheduler, dask_local, threads, device, on_cell)
    elif workers > 1:
        outcomes = _run_pool(specs, root, test, named, workers, threads or 1, device, batch, on_cell)
    else:
        outcomes = []
        for group in groups_of(specs, batch):
            if len(group) > 1:
                train_group(group, root, threads, device)
        for spec in specs:
            for o in run_cell(spec, root, test, named, threads, device):
                on_cell(o)
                outcomes.append(o)
    for spec in specs:
        for m in objects:
            t = time.perf_counter()
            net = trained_model(store, spec, device)
            scores, hit = evaluation_entry(store, spec, test, m, net)
            o = CellOutcome.of(scores, hit, time.perf_counter() - t)
            on_cell(o)
            outcomes.append(o)
    return outcomes


def check_workers(workers: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        msg = f"workers must be an integer >= 1, got workers={workers!r}"
        raise InvalidArgument(msg)


def _run_pool(specs, root, test, methods, workers, threads, device, batch, on_cell):
    """Two phases on one pool: train (or find) every model, then one task per (model,
    method), so progress comes per evaluation and no worker idles behind a long cell."""
    from concurrent.futures import as_completed

    from salcheck.engine.orphans import process_pool

    outcomes = []
    # Longest first (large sets, long training), so no long model starts last.
    order = sorted(specs, key=_cost, reverse=True)
    with process_pool(workers) as pool:  # spawned workers that exit when this process dies

        def run(tasks):
            futures = [
                pool.submit(run_cell, s.to_dict(), root, test.to_dict(), ms, threads, device)
                if isinstance(s, ModelSpec)
                else pool.submit(train_group, [x.to_dict() for x in s], root, threads, device)
                for s, ms in tasks
            ]
            for fut in as_completed(futures):
                yield from fut.result()

        trained = []
        first = [(g[0] if len(g) == 1 else g, ()) for g in groups_of(order, batch)]
        for o in run(first):
            on_cell(o)
            outcomes.append(o)
            if o.status == "done":
                trained.append(o.spec)
        ready = [s for s in order if s in set(trained)]
        for o in run([(s, (m,)) for s in ready for m in methods]):
            if o.method is not None:  # the model's own outcome was reported above
                on_cell(o)
                outcomes.append(o)
    return outcomes


def _cost(spec: ModelSpec) -> float:
    return spec.train_spec().n_per_class * spec.epochs


def _run_dask(specs, root, test, methods, scheduler, dask_local, threads, device, on_cell):
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=dask_local, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = [
            client.submit(
                run_cell,
                s.to_dict(),
                root,
                test.to_dict(),
                methods,
                threads or 1,
                device,
                key=f"cell-{s.key()}",
                pure=False,
            )
            for s in specs
        ]
        outcomes = []
        for fut in as_completed(futures):
            for o in fut.result():
                on_cell(o)
                outcomes.append(o)
        return outcomes
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def store_root(path: str | os.PathLike[str] | None) -> Path:
    """The store directory a command uses: ``path``, else the default."""
    from salcheck.store.files import default_store

    return Path(path) if path else default_store()

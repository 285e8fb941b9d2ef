"""Workers that carry out a plan's tasks through a store (for :func:`~salcheck.engine.plan.execute`).

Backends: in-process; a local process pool (``workers`` > 1); an existing Dask scheduler; a
Dask LocalCluster. Two phases: every missing model is trained first (several seeds of a cell
at once with ``batch_models``), then every evaluation is one worker task, so progress comes per
evaluation and no worker idles behind a long cell. Per-entry locks stop two processes computing
the same entry; any exception becomes a stored ``failed`` record and the grid goes on (a failed
record is computed again next time). Workers run torch with one thread each by default, which
uses a small CPU best (two one-thread trainings on 2 cores do 1.7x the work of one two-thread
training here) and keeps the float path the same whatever the core count.
"""

from __future__ import annotations

import atexit
import contextlib
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from salcheck.criteria import symbols
from salcheck.engine.checks import compute_checks
from salcheck.engine.evaluate import score, test_cohort
from salcheck.engine.orphans import process_pool
from salcheck.engine.tasks import CheckSuite, Task
from salcheck.engine.train import load_model, train_model, train_together
from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.models import weights_bytes
from salcheck.provenance import provenance
from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec, TestSpec
from salcheck.store.records import CheckRecord, Evaluation, ModelResult
from salcheck.training.batched import supports
from salcheck.training.loop import resolve_device


@dataclass(frozen=True)
class Outcome:
    """What happened to one task (or check suite)."""

    label: str
    part: str
    status: str  # done or failed
    cached: bool
    seconds: float
    error: str | None = None
    criteria: dict[str, float] | None = None
    spec: ModelSpec | None = None
    method: str | None = None

    def line(self) -> str:
        """A one-line status for progress output, with the criteria of an evaluation."""
        if self.status != "done":
            return f"FAILED {self.label}: {self.error}"
        how = "cached" if self.cached else f"{self.seconds:.0f}s"
        if not self.criteria:
            return f"done   {self.label} ({how})"
        shown = symbols()
        nums = " ".join(
            f"{shown[k]}={v:.2f}" for k, v in self.criteria.items() if k in shown and " " not in shown[k]
        )
        return f"done   {self.label} ({how}): {nums}"


# --- models ------------------------------------------------------------------------------------


def _has_model(store: Store, spec: ModelSpec) -> bool:
    entry = store.get("models", spec.key())
    return bool(entry and entry.get("status") == "done")


def _put_model(store: Store, record: ModelResult, model: Any, *, only_if_absent: bool = False) -> None:
    """Store a trained model's weights, then its record (so no record points at missing
    weights); with ``only_if_absent``, leave a finished entry of the same key as it is."""
    key = record.spec.key()
    if only_if_absent and _has_model(store, record.spec):
        return
    record.weights_sha256 = store.put_blob("models", key, weights_bytes(model))
    store.put("models", key, record.to_dict())


def model_entry(
    store: Store, spec: ModelSpec, device: str = "cpu"
) -> tuple[ModelResult, bytes | None, bool]:
    """(record, weights, cached): the stored model, or train it on ``device`` and store it
    (with the same run's model under the other selection rule).

    The training writes a checkpoint after each epoch under ``<store>/v*/checkpoints/``, so a
    training that was interrupted continues from its last finished epoch; the checkpoint is
    removed once the model is stored."""
    key = spec.key()
    state: dict[str, bytes | None] = {}
    checkpoint = checkpoint_path(store, key)

    def compute() -> dict[str, Any]:
        try:
            (record, model), *siblings = train_model(spec, device=device, checkpoint=checkpoint)
            data = weights_bytes(model)
            record.weights_sha256 = store.put_blob("models", key, data)
            state["weights"] = data
            for sibling, net in siblings:
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
    if entry.get("status") == "done":
        checkpoint.unlink(missing_ok=True)
    return ModelResult.from_dict(entry), state.get("weights"), cached


def checkpoint_path(store: Store, key: str) -> Path:
    """Where the training of model ``key`` keeps its checkpoint (the folder is created)."""
    folder = store.dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.safetensors"


def _trained_network(store: Store, spec: ModelSpec, device: str = "cpu") -> Any:
    """The trained network of ``spec`` on ``device`` for an evaluation task (a plan puts the
    model's own task first; trained here only when an evaluation is run without it)."""
    record, data, _ = model_entry(store, spec, device)
    if record.status != "done" or data is None:
        msg = f"model {spec.label()} failed: {record.error}"
        raise SalcheckError(msg)
    return load_model(spec, data, device)


def train_group(
    specs: Sequence[ModelSpec],
    root: str,
    threads: int | None,
    device: str,
    layers: Sequence[str] | None = None,
) -> list[Outcome]:
    """Train the models of ``specs`` (one cell, several seeds) that the store lacks, at once,
    holding every entry's lock; one at a time when the batched training fails."""
    _threads(threads)
    store = Store(root, layers=layers)
    t = time.perf_counter()
    with contextlib.ExitStack() as locks:
        for spec in sorted(specs, key=lambda s: s.key()):
            locks.enter_context(store.lock("models", spec.key()))
        todo = [s for s in specs if not _has_model(store, s)]
        if len(todo) > 1:
            try:
                for record, model in train_together(todo, device=device):
                    _put_model(store, record, model, only_if_absent=record.spec not in todo)
            except Exception as exc:  # one at a time below, each failure recorded on its own
                store.warn(f"batched training of {todo[0].label()} failed ({exc}); one at a time")
    out = []
    for spec in specs:
        record, _, cached = model_entry(store, spec, device)
        seconds = time.perf_counter() - t
        out.append(
            Outcome(
                Task("model", spec).label(),
                "model",
                record.status,
                cached and spec not in todo,
                seconds,
                record.error,
            )
        )
    return out


# --- evaluations -------------------------------------------------------------------------------


def evaluation_entry(
    store: Store, task: Task, test: TestSpec, network: Any = None, device: str = "cpu"
) -> tuple[Evaluation, bool]:
    """(evaluation, cached) of an evaluation task: the stored one, or computed and stored."""
    key = task.key(test)

    def compute() -> dict[str, Any]:
        try:
            net = network if network is not None else _trained_network(store, task.spec, device)
            result = score(
                task.part,
                task.method,
                net,
                test_cohort(test),
                spec=task.spec,
                test_spec=test,
                protocol=task.protocol,
            )
        except Exception as exc:
            result = Evaluation(
                part=task.part,
                model=task.spec,
                status="failed",
                method=task.method.name if task.method else None,
                fingerprint=task.method.fingerprint if task.method else None,
                protocol=task.protocol.to_dict(),
                error=f"{type(exc).__name__}: {exc}",
                provenance=provenance(traceback=traceback.format_exc(), test=test.to_dict()),
            )
        result.identity = task.identity(test)  # its key is recomputed from it on every read
        return result.to_dict()

    entry, cached = store.get_or_compute(
        task.kind, key, compute, usable=lambda e: e.get("status") == "done"
    )
    return Evaluation.from_dict(entry), cached


def run_task(
    task: Task,
    root: str,
    test: TestSpec,
    threads: int | None,
    device: str,
    layers: Sequence[str] | None = None,
) -> list[Outcome]:
    """Carry out one task in this process (a worker's entry point), on the store at ``root``
    reading ``layers`` (the caller's store's)."""
    _threads(threads)
    store = Store(root, layers=layers)
    t = time.perf_counter()
    if task.part == "model":
        record, _, cached = model_entry(store, task.spec, device)
        seconds = time.perf_counter() - t
        return [
            Outcome(task.label(), "model", record.status, cached, seconds, record.error, spec=task.spec)
        ]
    result, cached = evaluation_entry(store, task, test, device=device)
    return [
        Outcome(
            task.label(),
            task.part,
            result.status,
            cached,
            time.perf_counter() - t,
            result.error,
            result.criteria or None,
            task.spec,
            task.method.name if task.method else None,
        )
    ]


def _threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)


def groups_of(specs: Sequence[ModelSpec], size: int) -> list[list[ModelSpec]]:
    """Specs that differ in the seed only, in groups of at most ``size`` (order kept)."""
    cells: dict[ModelSpec, list[ModelSpec]] = {}
    for spec in specs:
        key = replace(spec, seed=0) if size > 1 and supports(spec.train_config()) else spec
        cells.setdefault(key, []).append(spec)
    return [g[i : i + size] for g in cells.values() for i in range(0, len(g), max(size, 1))]


def resolve_batch(batch_models: int | None, device: str) -> int:
    """Models per batched training: ``batch_models``, else 8 on CUDA and 1 (one at a time)
    on a CPU, where it measured only 1.04-1.17x faster (docs/performance.md)."""
    if batch_models is None:
        return 8 if device == "cuda" else 1
    if isinstance(batch_models, bool) or not isinstance(batch_models, int) or batch_models < 1:
        msg = f"batch_models must be an integer >= 1, got batch_models={batch_models!r}"
        raise InvalidArgument(msg)
    return batch_models


def check_workers(workers: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        msg = f"workers must be an integer >= 1, got workers={workers!r}"
        raise InvalidArgument(msg)


def _cost(spec: ModelSpec) -> float:
    return spec.train_spec().n_per_class * spec.epochs


#: A job of a backend: a function returning outcomes, and its arguments.
_Job = tuple[Callable[..., list[Outcome]], tuple[Any, ...]]


def run_tasks(
    tasks: Sequence[Task],
    store: Store,
    *,
    test: TestSpec,
    workers: int = 1,
    device: str = "cpu",
    batch_models: int | None = None,
    threads: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    on_progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Carry out ``tasks`` (models first, longest first), reporting each outcome as it ends."""
    device = resolve_device(device)
    check_workers(workers)
    batch = resolve_batch(batch_models, device)
    report = on_progress or (lambda o: None)
    models = sorted((t.spec for t in tasks if t.part == "model"), key=_cost, reverse=True)
    evaluations = [t for t in tasks if t.part != "model"]
    root, layers = str(store.root), [str(p) for p in store.layers]
    if scheduler or dask_local:
        backend: _InProcess | _Pool | _Dask = _Dask(scheduler, dask_local)
    elif workers > 1:
        backend = _Pool(workers)
    else:
        backend = _InProcess()
    outcomes: list[Outcome] = []
    with backend:
        jobs: list[_Job] = [
            (train_group, (g, root, threads or (1 if workers > 1 else None), device, layers))
            if len(g) > 1
            else (
                run_task,
                (
                    Task("model", g[0]),
                    root,
                    test,
                    threads or (1 if workers > 1 else None),
                    device,
                    layers,
                ),
            )
            for g in groups_of(models, batch)
        ]
        for o in backend.map(jobs):
            report(o)
            outcomes.append(o)
        failed = {o.label for o in outcomes if o.status != "done"}
        jobs = [
            (run_task, (t, root, test, threads or (1 if workers > 1 else None), device, layers))
            for t in evaluations
            if Task("model", t.spec).label() not in failed
        ]
        for o in backend.map(jobs):
            report(o)
            outcomes.append(o)
    return outcomes


class _InProcess(contextlib.AbstractContextManager[Any]):
    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, jobs: Iterable[_Job]) -> Iterator[Outcome]:
        for fn, args in jobs:
            yield from fn(*args)


#: The local worker pools of this process, one per worker count, kept between plans: a session
#: that executes many small plans (the property suite's drawn cohorts, one plan per example)
#: starts its workers (each importing torch: seconds) once, not once per plan.
_POOLS: dict[int, ProcessPoolExecutor] = {}


def shared_pool(workers: int) -> ProcessPoolExecutor:
    """This process's pool of ``workers`` spawned workers (started on first use, again after a
    failure broke it); the workers exit with this process."""
    pool = _POOLS.get(workers)
    if pool is None or getattr(pool, "_broken", False):
        pool = _POOLS[workers] = process_pool(workers)
    return pool


def close_pools() -> None:
    """Stop every kept pool (at exit, and after a plan is interrupted or fails)."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(cancel_futures=True)


atexit.register(close_pools)


class _Pool(contextlib.AbstractContextManager[Any]):
    """A local process pool (spawn), one torch thread per worker, kept for the next plan
    (:func:`shared_pool`) unless this one ends in an error or an interrupt."""

    def __init__(self, workers: int) -> None:
        self.pool = shared_pool(workers)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # its queued tasks are cancelled and its workers stopped
            close_pools()

    def map(self, jobs: Iterable[_Job]) -> Iterator[Outcome]:
        futures = [self.pool.submit(fn, *args) for fn, args in jobs]
        for fut in as_completed(futures):
            yield from fut.result()


class _Dask(contextlib.AbstractContextManager[Any]):
    """An existing Dask scheduler, or a LocalCluster of one-thread worker processes."""

    def __init__(self, scheduler: str | None, dask_local: int | None) -> None:
        from distributed import Client, LocalCluster  # optional: salcheck[dask]

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(
                n_workers=dask_local, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self.cluster)

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def map(self, jobs: Iterable[_Job]) -> Iterator[Outcome]:
        from distributed import as_completed  # optional: salcheck[dask]

        futures = [self.client.submit(fn, *args, pure=False) for fn, args in jobs]
        for fut in as_completed(futures):
            yield from fut.result()


# --- check suites ------------------------------------------------------------------------------


def run_checks(
    suites: Sequence[CheckSuite],
    store: Store,
    *,
    device: str = "cpu",
    on_progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run each check suite in this process on the stored evaluations it reads, and store it."""
    out = []
    for suite in suites:
        t = time.perf_counter()
        label = f"check suite of {suite.method.name} at tier {suite.tier.name}"
        record: CheckRecord = compute_checks(suite, store, device=device)
        record.identity = suite.identity()
        store.put("checks", suite.key(), record.to_dict())
        o = Outcome(label, "checks", record.status, False, time.perf_counter() - t, record.error)
        if on_progress:
            on_progress(o)
        out.append(o)
    return out

"""Run grids of cells through a store: in-process, in a local process pool, or on Dask.

Every backend calls :func:`run_cell`, which goes through the store (finished cells cost
nothing, per-cell locks stop two processes training the same cell) and turns any exception of
a cell into a stored ``failed`` result, so the grid goes on.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .experiment import ExperimentSpec, RunResult, provenance, run_experiment
from .store import Store


@dataclass(frozen=True)
class CellOutcome:
    """What happened to one cell of a grid."""

    spec: ExperimentSpec
    status: str  # done or failed
    cached: bool
    seconds: float
    error: str | None = None
    criteria: dict[str, float] | None = None

    def line(self) -> str:
        """A one-line status for progress output."""
        if self.status != "done":
            return f"FAILED {self.spec.label()}: {self.error}"
        c = self.criteria or {}
        how = "cached" if self.cached else f"{self.seconds:.0f}s"
        return (f"done   {self.spec.label()} ({how}): a={c.get('a', float('nan')):.2f} "
                f"b={c.get('b', float('nan')):.2f} c={c.get('c', float('nan')):.2f} "
                f"b†={c.get('b_dagger', float('nan')):.2f} c†={c.get('c_dagger', float('nan')):.2f}")


def safe_run(spec: ExperimentSpec) -> tuple[RunResult, dict | None]:
    """Run a cell; any exception becomes a ``failed`` result. Returns (result, weights)."""
    try:
        result, model = run_experiment(spec, return_model=True)
        return result, model.state_dict()
    except Exception as exc:  # a failing cell is recorded, and the grid goes on
        return RunResult(spec=spec, status="failed",
                         error=f"{type(exc).__name__}: {exc}",
                         provenance={**provenance(spec), "traceback": traceback.format_exc()}), None


def run_cell(spec: ExperimentSpec | dict[str, Any], store_root: str | os.PathLike[str],
             threads: int | None = None) -> CellOutcome:
    """Run (or fetch) one cell through the store at ``store_root``."""
    if isinstance(spec, dict):
        spec = ExperimentSpec.from_dict(spec)
    if threads:
        import torch

        torch.set_num_threads(threads)
    t = time.perf_counter()
    result, cached = Store(store_root).get_or_run(spec, safe_run)
    return CellOutcome(spec, result.status, cached, time.perf_counter() - t, result.error,
                       result.criteria or None)


def run_grid(specs: Iterable[ExperimentSpec], store: Store, *, workers: int = 1,
             scheduler: str | None = None, dask_local: int | None = None,
             threads: int | None = None,
             on_cell: Callable[[CellOutcome], None] | None = None) -> list[CellOutcome]:
    """Run every cell; ``on_cell`` sees each outcome as it finishes (in finishing order).

    Backends: in-process (default); ``workers`` > 1: a local process pool; ``scheduler``: an
    existing Dask scheduler's address; ``dask_local``: a Dask LocalCluster of that many
    workers. ``threads``: torch threads per local worker (default: cores // workers; torch
    results are bit-identical only between runs with the same number of threads). Returns the
    outcomes in the order of ``specs``.
    """
    specs = list(specs)
    on_cell = on_cell or (lambda outcome: None)
    root = str(store.root)
    if scheduler or dask_local:
        outcomes = _run_dask(specs, root, scheduler, dask_local, threads, on_cell)
    elif workers > 1:
        outcomes = _run_pool(specs, root, workers, threads or _threads_per_worker(workers),
                             on_cell)
    else:
        outcomes = {}
        for spec in specs:
            outcomes[spec] = run_cell(spec, root)
            on_cell(outcomes[spec])
    return [outcomes[s] for s in specs]


def _threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def _run_pool(specs, root, workers, threads, on_cell):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    outcomes = {}
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(run_cell, s.to_dict(), root, threads): s
                   for s in specs}
        for fut in as_completed(futures):
            outcomes[futures[fut]] = fut.result()
            on_cell(outcomes[futures[fut]])
    return outcomes


def _run_dask(specs, root, scheduler, dask_local, threads, on_cell):
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        threads = threads or _threads_per_worker(dask_local)
    try:
        futures = {client.submit(run_cell, s.to_dict(), root, threads, key=f"cell-{s.key()}",
                                 pure=False): s for s in specs}
        outcomes = {}
        for fut in as_completed(futures):
            outcomes[futures[fut]] = fut.result()
            on_cell(outcomes[futures[fut]])
        return outcomes
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def store_root(path: str | os.PathLike[str] | None) -> Path:
    """The store directory a command uses: ``path``, else the default."""
    from .store import default_store

    return Path(path) if path else default_store()

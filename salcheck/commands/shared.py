"""What the sub-commands share: the store, tier and results view their options name, and
running a plan into the store with a progress bar."""

from __future__ import annotations

import argparse
import time
from typing import Any

from salcheck.store.files import Store, store_root


def store_of(args: argparse.Namespace) -> Any:
    return Store(store_root(args.store))


def tier_of(args: argparse.Namespace) -> Any:
    from salcheck.store.tiers import get_tier  # CLI start-up

    return get_tier(args.tier, getattr(args, "network", None))


def require_plan(plan: Any, store: Any, what: str) -> None:
    """Refuse to render a page whose plan the store and the zoo do not hold whole, saying how
    much is missing (the page's own error names only the first result it lacks)."""
    from salcheck.errors import SalcheckError  # CLI start-up

    todo = plan.missing(store)
    if len(todo):
        raise SalcheckError(
            f"the store {store.root} and the zoo lack {todo.summary()} of the {what}'s plan; "
            f"compute them with `salcheck {what} --run`"
        )


def execute_plan(plan: Any, store: Any, args: argparse.Namespace, what: str) -> int:
    """Make ``store`` hold ``plan`` with a progress bar; returns the number of failures."""
    from tqdm import tqdm  # CLI start-up

    from salcheck.engine.plan import execute  # CLI start-up
    from salcheck.engine.runner import check_workers  # CLI start-up

    check_workers(args.workers)
    if getattr(args, "evaluate_only", False):
        plan = plan.trained_only(store)
    todo = plan.missing(store)
    if not len(todo):
        return 0
    print(f"salcheck {what}: computing {todo.summary()} into {store.root}")
    failed, finished, start = 0, 0, time.monotonic()
    with tqdm(total=len(todo), unit="task", desc=what, disable=None) as bar:

        def on_progress(outcome: Any) -> None:
            # each line says where the run stands: a log has no bar (tqdm draws one on a terminal)
            nonlocal failed, finished
            failed += outcome.status != "done"
            finished += 1
            bar.update(1)
            minutes = (time.monotonic() - start) / 60
            bar.write(f"[{finished}/{len(todo)}, {minutes:.0f} min] {outcome.line()}")

        execute(
            todo,
            store,
            workers=args.workers,
            scheduler=getattr(args, "scheduler", None),
            dask_local=getattr(args, "dask_local", None),
            device=args.device,
            batch_models=args.batch_models,
            on_progress=on_progress,
        )
    print(f"salcheck {what}: {failed} failed" if failed else f"salcheck {what}: done")
    return failed


def results_view(args: argparse.Namespace, method: Any) -> Any:
    """The read-only view the report and the verdicts decide on: the method, beyond the nulls."""
    from salcheck.saliency.resolve import null_refs  # CLI start-up
    from salcheck.store.view import ResultsView  # CLI start-up

    return ResultsView(store_of(args), tier_of(args), method, seeds=args.seeds, nulls=null_refs())

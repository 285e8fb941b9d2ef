"""Making models: draw the training cohort a :class:`~salcheck.store.keys.ModelSpec` names, train
it (one model, or several seeds of one cell at once), and turn the run into stored records.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from salcheck.cohort import make_cohort
from salcheck.errors import InvalidArgument
from salcheck.models.custom import load_network
from salcheck.provenance import provenance
from salcheck.rng import derive_seed
from salcheck.store.keys import ModelSpec
from salcheck.store.records import ModelResult
from salcheck.training.batched import train_batched
from salcheck.training.loop import resolve_device, train
from salcheck.training.stopping import SELECTIONS


def train_model(
    spec: ModelSpec,
    *,
    device: str = "cpu",
    progress: Callable[[dict[str, float]], None] | None = None,
    checkpoint: Path | None = None,
) -> list[tuple[ModelResult, Any]]:
    """Draw the training cohort and train on ``device`` (cpu, cuda or auto).

    With ``checkpoint`` (a file path), the run writes its state there after each epoch and
    continues from a valid checkpoint of ``spec`` found there (:mod:`salcheck.training.checkpoint`);
    the caller removes the file once the records are stored.

    Returns (record, trained nn.Module) for ``spec`` first, then for each spec that differs
    from it in the selection rule alone (the same run keeps both: :mod:`salcheck.training.stopping`).
    The device is recorded in the provenance, not in the model's key: it changes the floats,
    not what the model is."""
    device = resolve_device(device)
    t0 = time.perf_counter()
    cohort = spec.train_cohort()
    t1 = time.perf_counter()
    config = replace(spec.train_config(), device=device)
    trained = train(cohort, config, spec.seed, progress=progress, checkpoint=checkpoint, key=spec.key())
    return trained_records(spec, trained, device=device, timings={"cohort_s": t1 - t0})


def trained_records(
    spec: ModelSpec, trained: Any, *, device: str, timings: dict[str, float], **extra: Any
) -> list[tuple[ModelResult, Any]]:
    """(record, model) of one finished run (a :class:`~salcheck.training.loop.TrainedModel`) for
    ``spec`` and for each sibling spec that differs in the selection rule alone."""
    out = []
    for selection in (spec.selection, *(s for s in SELECTIONS if s != spec.selection)):
        sibling = replace(spec, selection=selection)
        epoch, state = trained.kept(selection)
        model = trained.model
        if selection != spec.selection:
            model = copy.deepcopy(trained.model)
            model.load_state_dict(state)
        record = ModelResult(
            spec=sibling,
            status="done",
            history=trained.history,
            best_epoch=epoch,
            timings={**timings, **trained.timings},
            stop=trained.stop,
            trajectory=trained.trajectory,
            provenance=provenance(
                spec=sibling.to_dict(),
                seeds={"train_cohort": derive_seed(spec.seed, "cohort"), "training": spec.seed},
                device=_device_name(device),
                **extra,
            ),
        )
        out.append((record, model.eval()))
    return out


def _device_name(device: str) -> str:
    return torch.cuda.get_device_name() if device == "cuda" else "cpu"


def load_model(spec: ModelSpec, data: bytes, device: str = "cpu") -> Any:
    """The spec's network with the stored weights, on ``device``, in eval mode."""
    return load_network(spec.model, spec.image_size, data, resolve_device(device), dims=spec.dims)


def train_together(specs: Sequence[ModelSpec], *, device: str = "cpu") -> list[tuple[ModelResult, Any]]:
    """(record, model) per :class:`~salcheck.store.keys.ModelSpec` of one cell (specs differing in
    the seed only), trained at once (volumes: one after another); the records are those
    :func:`train_model` writes, with ``batched_with`` in their timings."""
    cells = {replace(s, seed=0) for s in specs}
    if len(cells) != 1:
        raise InvalidArgument(f"specs of one batch must differ in the seed only, got {len(cells)} cells")
    if specs[0].dims != 2:  # grouped networks are 2-D: volumes train one seed at a time
        return [r for s in specs for r in train_model(s, device=device)]
    device = resolve_device(device)
    config = replace(specs[0].train_config(), device=device)
    t0 = time.perf_counter()
    cohorts = [make_cohort(s.train_spec(), derive_seed(s.seed, "cohort")) for s in specs]  # images
    cohort_s = (time.perf_counter() - t0) / len(specs)
    trained = train_batched(cohorts, config, [s.seed for s in specs])
    out = []
    for spec, t in zip(specs, trained, strict=True):
        out += trained_records(
            spec, t, device=device, timings={"cohort_s": cohort_s}, batched_with=len(specs)
        )
    return out

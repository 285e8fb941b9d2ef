"""The one module that wires the stages: cohort -> model -> training -> saliency -> criteria.

:func:`train_model` trains the model a :class:`~salcheck.store.keys.ModelSpec` names;
:func:`evaluate` scores any saliency method on a trained model and a test cohort, with one set
of parameters shared by grids, the check suite, the properties and the report.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from salcheck.cohort import Cohort, make_cohort
from salcheck.provenance import provenance
from salcheck.rng import derive_seed
from salcheck.saliency.resolve import method_fingerprint, method_name
from salcheck.store.keys import ModelSpec, TestSpec, content_key, identity_of
from salcheck.store.records import ModelResult, Scores

#: Bump when what an evaluation means changes in a way the code hash below cannot see.
EVALUATION_VERSION = 1
#: Typical test images mapped at each step of cascading randomisation (F8 and the checks).
RANDOMISATION_IMAGES = 32
#: The modules whose code determines an evaluation; their source is hashed into its key.
_EVALUATION_MODULES = (
    "engine/experiment.py",
    "criteria",
    "saliency/groups.py",
    "saliency/base.py",
    "training/loop.py",
    "models",
)


def evaluation_code_hash() -> str:
    """sha256 over the source of the evaluation code, so an edit to it is never served stale."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for name in _EVALUATION_MODULES:
        p = root / name
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def evaluation_identity(model: ModelSpec, test: TestSpec, fingerprint: str) -> dict[str, Any]:
    """What the key of an evaluation by this code hashes (:func:`~salcheck.store.keys.identity_of`:
    model key, test set, method fingerprint, evaluation version and code hash); stored in the
    entry, so its key can be recomputed from its content."""
    return identity_of(
        model, test.to_dict(), fingerprint, version=EVALUATION_VERSION, code=evaluation_code_hash()
    )


def evaluation_key(model: ModelSpec, test: TestSpec, fingerprint: str) -> str:
    """Content hash of :func:`evaluation_identity`."""
    return content_key(evaluation_identity(model, test, fingerprint))


_TEST_COHORTS: dict[TestSpec, Cohort] = {}


def test_cohort(test: TestSpec) -> Cohort:
    """The test cohort (cached in-process: every model of a tier shares it)."""
    if test not in _TEST_COHORTS:
        _TEST_COHORTS.clear()
        _TEST_COHORTS[test] = make_cohort(test.cohort_spec(), test.seed)
    return _TEST_COHORTS[test]


def train_model(
    spec: ModelSpec,
    *,
    device: str = "cpu",
    progress: Callable[[dict[str, float]], None] | None = None,
) -> list[tuple[ModelResult, Any]]:
    """Draw the training cohort and train on ``device`` (cpu, cuda or auto).

    Returns (record, trained nn.Module) for ``spec`` first, then for each spec that differs
    from it in the selection rule alone (the same run keeps both: :mod:`salcheck.training.stopping`).
    The device is recorded in the provenance, not in the model's key: it changes the floats,
    not what the model is."""
    from dataclasses import replace

    from salcheck.training.loop import resolve_device, train

    device = resolve_device(device)
    t0 = time.perf_counter()
    cohort = make_cohort(spec.train_spec(), derive_seed(spec.seed, "cohort"))
    t1 = time.perf_counter()
    config = replace(spec.train_config(), device=device)
    trained = train(cohort, config, spec.seed, progress=progress)
    return trained_records(spec, trained, device=device, timings={"cohort_s": t1 - t0})


def trained_records(
    spec: ModelSpec, trained: Any, *, device: str, timings: dict[str, float], **extra: Any
) -> list[tuple[ModelResult, Any]]:
    """(record, model) of one finished run (a :class:`~salcheck.training.loop.TrainedModel`) for
    ``spec`` and for each sibling spec that differs in the selection rule alone."""
    import copy
    from dataclasses import replace

    from salcheck.training.stopping import SELECTIONS

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
    import torch

    return torch.cuda.get_device_name() if device == "cuda" else "cpu"


def weights_bytes(model) -> bytes:
    """A model's tensors as ``torch.save`` bytes (loaded back with ``weights_only``)."""
    import torch

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


def load_model(spec: ModelSpec, data: bytes, device: str = "cpu"):
    """The spec's network with the stored weights, on ``device``, in eval mode."""
    import torch

    from salcheck.models.networks import build_model
    from salcheck.training.loop import resolve_device

    model = build_model(spec.model, spec.image_size, generator=torch.Generator())
    model.load_state_dict(torch.load(io.BytesIO(data), weights_only=True))
    return model.to(resolve_device(device)).eval()


def evaluate(method, model, test: Cohort, *, spec: ModelSpec, test_spec: TestSpec) -> Scores:
    """Score ``method`` on a trained ``model`` with the ``test`` cohort.

    Criteria a (features), b, c, b†, c† (group maps), localisation of the per-image maps
    against each image's own ROI mask, the cascading-randomisation curve on
    :data:`RANDOMISATION_IMAGES` typical images, and test accuracy. The model's train/eval
    mode is left as it was found.
    """
    from salcheck.criteria import CRITERIA, Inputs, cascading_randomisation
    from salcheck.saliency import group_map, subtype_maps
    from salcheck.training.loop import accuracy

    t0 = time.perf_counter()
    was_training = model.training
    try:
        maps = subtype_maps(method, model, test)
        t1 = time.perf_counter()
        group = {k: group_map(v) for k, v in maps.items()}
        inputs = Inputs(model, test, maps, group)
        criteria = {k: v for criterion in CRITERIA for k, v in criterion()(inputs).items()}
        randomisation = cascading_randomisation(
            method, model, test, seed=spec.seed, max_images=RANDOMISATION_IMAGES
        )
        acc = accuracy(model, test)
    finally:
        model.train(was_training)
    n_maps = sum(len(v) for v in maps.values())
    return Scores(
        model=spec,
        method=method_name(method),
        fingerprint=method_fingerprint(method),
        status="done",
        criteria=criteria,
        accuracy=acc,
        randomisation=randomisation,
        maps=group,
        timings={
            "maps_s": t1 - t0,
            "s_per_1000_maps": 1000 * (t1 - t0) / n_maps,
            "total_s": time.perf_counter() - t0,
        },
        provenance=provenance(
            test=test_spec.to_dict(),
            method=method_name(method),
            device=_device_name(next(model.parameters()).device.type),
        ),
    )


def train_together(specs: Sequence[ModelSpec], *, device: str = "cpu") -> list[tuple[ModelResult, Any]]:
    """(record, model) per :class:`~salcheck.store.keys.ModelSpec` of one cell (specs differing in
    the seed only), trained at once; the records are those :func:`train_model` writes, with
    ``batched_with`` in their timings."""
    from dataclasses import replace

    from salcheck.errors import InvalidArgument
    from salcheck.training.batched import train_batched
    from salcheck.training.loop import resolve_device

    cells = {replace(s, seed=0) for s in specs}
    if len(cells) != 1:
        raise InvalidArgument(f"specs of one batch must differ in the seed only, got {len(cells)} cells")
    device = resolve_device(device)
    config = replace(specs[0].train_config(), device=device)
    t0 = time.perf_counter()
    cohorts = [make_cohort(s.train_spec(), derive_seed(s.seed, "cohort")) for s in specs]
    cohort_s = (time.perf_counter() - t0) / len(specs)
    trained = train_batched(cohorts, config, [s.seed for s in specs])
    out = []
    for spec, t in zip(specs, trained, strict=True):
        out += trained_records(
            spec, t, device=device, timings={"cohort_s": cohort_s}, batched_with=len(specs)
        )
    return out

"""Scoring a trained model: one function per part of an evaluation (``store.records.PARTS``).

- :func:`score_features`: criterion a (the features of the last convolutional block) and test
  accuracy per label and subtype. They are the model's, the same for every saliency method.
- :func:`score_maps`: the method's per-image maps of the test cohort's atrophied typical and
  atypical images (those the protocol selects), their group maps, and every map criterion
  (b, c, b†, c† and the per-image localisation scores).
- :func:`score_randomisation`: the cascading-randomisation curve (Adebayo et al. 2018) on
  :data:`RANDOMISATION_IMAGES` typical images; only F8 and the randomisation check read it.

Each leaves the model's train/eval mode as it found it. Every consumer scores through these
functions, so the grids, the check suite, the properties and the reports agree.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from salcheck.cohort import AnyCohort
from salcheck.criteria import (
    FEATURE_CRITERIA,
    MAP_CRITERIA,
    EvalProtocol,
    Inputs,
)
from salcheck.engine.randomisation import cascading_randomisation
from salcheck.provenance import provenance
from salcheck.saliency.base import CONTROLS, ModelContext
from salcheck.saliency.resolve import MethodRef
from salcheck.store.keys import ModelSpec, TestSpec
from salcheck.store.records import Evaluation
from salcheck.training.inference import accuracy, normalise, predict
from salcheck.training.loop import initial_network

#: Typical test images mapped at each step of cascading randomisation (F8 and the checks).
RANDOMISATION_IMAGES = 32
#: The atrophied subtypes whose maps are averaged into group maps.
GROUPS = {"typical": 1, "atypical": 2}


def test_cohort(test: TestSpec) -> AnyCohort:
    """The test cohort (drawn once per process: every model of a tier shares it)."""
    return test.cohort()


def _device_name(model: Any) -> str:
    device = next(model.parameters()).device
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def score_features(model: Any, test: AnyCohort, *, spec: ModelSpec, test_spec: TestSpec) -> Evaluation:
    """Criterion a and test accuracy of ``model`` on ``test``."""
    t0 = time.perf_counter()
    was_training = model.training
    try:
        inputs = Inputs(model, test, {}, {}, {})
        criteria = {k: v for c in FEATURE_CRITERIA for k, v in c()(inputs).items()}
        acc = accuracy(model, test)
    finally:
        model.train(was_training)
    return Evaluation(
        part="features",
        model=spec,
        status="done",
        criteria=criteria,
        accuracy=acc,
        timings={"total_s": time.perf_counter() - t0},
        provenance=provenance(test=test_spec.to_dict(), device=_device_name(model)),
    )


def model_context(spec: ModelSpec) -> ModelContext:
    """What a method that draws per model (the null maps) knows of the model it maps."""
    return ModelContext(
        spec.key(),
        spec.seed,
        lambda: initial_network(spec.model, spec.image_size, spec.seed, dims=spec.dims),
    )


def per_model(method: MethodRef, spec: ModelSpec) -> MethodRef:
    """``method`` as it maps the model of ``spec`` (:meth:`SaliencyMethod.for_model`)."""
    for_model = getattr(method.method, "for_model", None)
    return method if for_model is None else replace(method, method=for_model(model_context(spec)))


def members(model: Any, test: AnyCohort, protocol: EvalProtocol) -> dict[str, np.ndarray]:
    """The test images behind each group map: every atrophied image of the subtype, or (with
    ``images="correct"``) those ``model`` predicts as atrophied."""
    out = {}
    for group, subtype in GROUPS.items():
        idx = test.indices(label=1, subtype=subtype)
        if protocol.images == "correct" and len(idx):
            pred = predict(model, normalise(test.images[idx])).argmax(1).numpy()
            idx = idx[pred == 1]
        out[group] = idx
    return out


def _maps(method: MethodRef, model: Any, test: AnyCohort, idx: np.ndarray) -> np.ndarray:
    if len(idx) == 0:
        return np.zeros((0, *(test.image_size,) * test.dims), np.float32)
    return method.method.attribute(model, normalise(test.images[idx]), CONTROLS)[:, 0].numpy()


def score_maps(
    method: MethodRef,
    model: Any,
    test: AnyCohort,
    *,
    spec: ModelSpec,
    test_spec: TestSpec,
    protocol: EvalProtocol,
) -> Evaluation:
    """The method's group maps on ``model`` and every map criterion, under ``protocol``.

    A group with no image behind it (no atypical image classified correctly, say) has a NaN
    group map, and its criteria are NaN."""
    t0 = time.perf_counter()
    was_training = model.training
    try:
        chosen = members(model, test, protocol)
        maps = {g: _maps(method, model, test, idx) for g, idx in chosen.items()}
        t1 = time.perf_counter()
        empty = (test.image_size,) * test.dims
        groups = {
            g: protocol.group_map(m) if len(m) else np.full(empty, np.nan) for g, m in maps.items()
        }
        inputs = Inputs(model, test, maps, groups, chosen, protocol)
        criteria = {k: v for c in MAP_CRITERIA for k, v in c()(inputs).items()}
    finally:
        model.train(was_training)
    n_maps = sum(len(v) for v in maps.values())
    return Evaluation(
        part="maps",
        model=spec,
        status="done",
        method=method.name,
        fingerprint=method.fingerprint,
        protocol=protocol.to_dict(),
        criteria=criteria,
        maps=groups,
        timings={
            "maps_s": t1 - t0,
            "s_per_1000_maps": 1000 * (t1 - t0) / max(n_maps, 1),
            "total_s": time.perf_counter() - t0,
        },
        provenance=provenance(
            test=test_spec.to_dict(),
            method=method.name,
            images={g: len(v) for g, v in chosen.items()},
            device=_device_name(model),
        ),
    )


def score_randomisation(
    method: MethodRef,
    model: Any,
    test: AnyCohort,
    *,
    spec: ModelSpec,
    test_spec: TestSpec,
    protocol: EvalProtocol,
) -> Evaluation:
    """The method's cascading-randomisation curve on ``model`` (seeded by the training seed)."""
    t0 = time.perf_counter()
    curve = cascading_randomisation(
        method.method,
        model,
        test,
        seed=spec.seed,
        max_images=RANDOMISATION_IMAGES,
        protocol=protocol,
    )
    return Evaluation(
        part="randomisation",
        model=spec,
        status="done",
        method=method.name,
        fingerprint=method.fingerprint,
        protocol=protocol.to_dict(),
        curve=curve,
        timings={"total_s": time.perf_counter() - t0},
        provenance=provenance(test=test_spec.to_dict(), method=method.name, device=_device_name(model)),
    )


def score(
    part: str,
    method: MethodRef | None,
    model: Any,
    test: AnyCohort,
    *,
    spec: ModelSpec,
    test_spec: TestSpec,
    protocol: EvalProtocol,
) -> Evaluation:
    """The ``part`` of the evaluation (features, maps or randomisation)."""
    if part == "features":
        return score_features(model, test, spec=spec, test_spec=test_spec)
    if method is None:
        msg = f"a {part} evaluation needs a saliency method, got None"
        raise ValueError(msg)
    fn = score_maps if part == "maps" else score_randomisation
    return fn(per_model(method, spec), model, test, spec=spec, test_spec=test_spec, protocol=protocol)

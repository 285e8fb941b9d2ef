"""Saliency speed: vanilla-gradient maps and criteria on the `test` preset's atrophied images.

Prints as its last line one JSON object: maps_per_s (vanilla-gradient maps of the 1,000
atrophied images of `test` at 128 x 128 with a ConvNet, normalisation included) and criteria_s
(a, b, c, b†, c† on that set: features, ten K-means runs, group maps and region ratios).
"""

from __future__ import annotations

import json
import time

import torch

from salcheck.cohort import make_cohort, preset
from salcheck.criteria import CRITERIA, Inputs
from salcheck.models.networks import build_model
from salcheck.saliency import VanillaGradient, group_map, subtype_maps


def main() -> None:
    cohort = make_cohort(preset("test"), 0)
    model = build_model("convnet", 128, generator=torch.Generator().manual_seed(0)).eval()
    method = VanillaGradient()
    method.attribute(model, torch.as_tensor(cohort.images[:64]))  # warm up
    t = time.perf_counter()
    maps = subtype_maps(method, model, cohort)
    maps_s = time.perf_counter() - t
    n_maps = sum(len(m) for m in maps.values())
    t = time.perf_counter()
    members = {k: cohort.indices(label=1, subtype=s) for k, s in (("typical", 1), ("atypical", 2))}
    inputs = Inputs(model, cohort, maps, {k: group_map(v) for k, v in maps.items()}, members)
    scores = {k: v for criterion in CRITERIA for k, v in criterion()(inputs).items()}
    criteria_s = time.perf_counter() - t
    print(f"{n_maps} maps in {maps_s:.2f} s; criteria {scores}")
    print(json.dumps({"maps_per_s": round(n_maps / maps_s, 1), "criteria_s": round(criteria_s, 2)}))


if __name__ == "__main__":
    main()

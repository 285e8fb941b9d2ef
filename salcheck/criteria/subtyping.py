"""Criterion a: can the network's features tell the latent subtypes apart?

a = mean over ten K-means runs (k = 2, n_init = 1, random_state = 0..9) of the adjusted Rand
index between the clusters and the true subtypes, on the flattened output of the last
convolutional block for the test cohort's typical and atypical images. Chance: 0 (random
features); 1 = perfect recovery of the subtypes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, cast

import numpy as np
import torch
from torch import nn

from salcheck.cohort import AnyCohort
from salcheck.criteria.base import Criterion, Inputs
from salcheck.errors import InvalidArgument
from salcheck.training.inference import normalise


def feature_subtyping(features: np.ndarray, subtypes: np.ndarray, runs: int = 10) -> float:
    """Mean adjusted Rand index of ``runs`` 2-means clusterings of ``features`` [n, d]."""
    from sklearn.cluster import KMeans  # CLI start-up: scikit-learn takes ~0.4 s to import
    from sklearn.metrics import adjusted_rand_score  # CLI start-up: scikit-learn takes ~0.4 s to import

    f = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    s = np.asarray(subtypes)
    if len(f) != len(s):
        msg = f"{len(f)} feature rows but {len(s)} subtypes"
        raise InvalidArgument(msg)
    if len(f) < 2 or len(np.unique(s)) < 2:
        msg = f"criterion a needs at least two images of two subtypes, got subtypes {np.unique(s)}"
        raise InvalidArgument(msg)
    scores = [
        adjusted_rand_score(s, KMeans(2, n_init=1, random_state=r).fit_predict(f)) for r in range(runs)
    ]
    return float(np.mean(scores))


@torch.no_grad()
def last_block_features(model: nn.Module, cohort: AnyCohort, batch_size: int = 64) -> np.ndarray:
    """Flattened ``model.features`` of the cohort's normalised images, [n, d]."""
    model.eval()
    device = next(model.parameters()).device
    x = normalise(cohort.images)
    features = cast("Callable[[torch.Tensor], torch.Tensor]", model.features)
    return torch.cat(
        [
            features(x[i : i + batch_size].to(device)).flatten(1).cpu()
            for i in range(0, len(x), batch_size)
        ]
    ).numpy()


class FeatureSubtyping(Criterion):
    name = "feature-map subtyping"
    symbol = "a"
    formula = "a = mean_{r=0..9} ARI(KMeans(k=2, random_state=r)(features), subtypes)"
    chance = 0.0
    category = "features"
    keys = ("a",)
    symbols: ClassVar[dict[str, str]] = {"a": "a"}

    def compute(self, inputs: Inputs) -> dict[str, float]:
        return {"a": subtype_features_ari(inputs.model, inputs.cohort)}


def subtype_features_ari(model: nn.Module, cohort: AnyCohort) -> float:
    """a on the cohort's atrophied typical and atypical images (label errors left out)."""
    keep = cohort.indices(label=1)
    keep = keep[np.isin(cohort.subtypes[keep], (1, 2))]
    sub = cohort.subset(keep)
    return feature_subtyping(last_block_features(model, sub), sub.subtypes)

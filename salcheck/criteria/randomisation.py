"""Model-randomisation sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

Cascading randomisation: re-initialise the trainable layers one by one from the output
backwards, cumulatively, and after each step recompute the maps. A method that explains the
model should lose its structure: the Spearman rank correlation of |map| before and after falls
towards 0, and b and c of the randomised typical group map fall towards 1.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from salcheck.cohort import AnyCohort
from salcheck.criteria.protocol import EvalProtocol
from salcheck.criteria.regions import group_map_scores, group_regions
from salcheck.errors import InvalidArgument
from salcheck.models.networks import reinitialise, trainable_layers
from salcheck.rng import derive_seed, torch_generator
from salcheck.saliency.base import CONTROLS, AttributionMethod
from salcheck.training.inference import normalise


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each row of a with the same row of b (NaN if constant)."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    den = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(1) / den


def cascading_randomisation(
    method: AttributionMethod,
    model: nn.Module,
    cohort: AnyCohort,
    *,
    seed: int = 0,
    max_images: int = 64,
    protocol: EvalProtocol | None = None,
) -> list[dict[str, float | str]]:
    """One row per step: the layer just re-initialised, mean Spearman rho of |map| against
    the trained model's maps on the typical images, and b, c of the randomised typical map.

    Step 0 is the trained model itself (rho = 1). Works on a deep copy; ``model`` is untouched.
    """
    idx = cohort.indices(label=1, subtype=1)[:max_images]
    if len(idx) == 0:
        msg = "the cohort has no atrophied typical images to map"
        raise InvalidArgument(msg)
    x = normalise(cohort.images[idx])
    m = copy.deepcopy(model).eval()
    protocol = protocol or EvalProtocol()
    regions = {"typical": group_regions(cohort, idx, protocol)}

    def typical_maps() -> np.ndarray:
        return method.attribute(m, x, CONTROLS)[:, 0].numpy()

    before = typical_maps()
    gen = torch_generator(derive_seed(seed, "randomisation"))
    rows: list[dict[str, float | str]] = []

    def record(layer: str, maps: np.ndarray) -> None:
        scores = group_map_scores({"typical": protocol.group_map(maps)}, regions)
        rho = spearman_rows(np.abs(before), np.abs(maps))  # NaN for a constant map
        rows.append(
            {
                "layer": layer,
                "spearman": float(np.nanmean(rho)) if np.isfinite(rho).any() else math.nan,
                "b": scores["b"],
                "c": scores["c"],
            }
        )

    record("none", before)
    for name, layer in reversed(trainable_layers(m)):
        with torch.no_grad():
            reinitialise(layer, gen)
        record(name, typical_maps())
    return rows


def _abs_log(value: float | str) -> float:
    """|log x|; inf for x = 0 (a ratio with an empty numerator), NaN for NaN or x < 0."""
    x = float(value)
    return abs(math.log(x)) if x > 0 else math.inf if x == 0 else math.nan


#: What tables print for the randomisation scores.
RANDOMISATION_SYMBOLS = {
    "abs_log_b": "|log b|",
    "abs_log_c": "|log c|",
    "abs_log_b_randomised": "|log b| rand.",
    "abs_log_c_randomised": "|log c| rand.",
    "spearman_randomised": "ρ rand.",
}

#: Scores read off a cascading-randomisation curve (rows as :func:`cascading_randomisation`
#: returns them), by name: what F8 and the randomisation check compare.
RANDOMISATION_SCORES = {
    "abs_log_b": lambda rows: _abs_log(rows[0]["b"]),  # |log b| of the trained model
    "abs_log_c": lambda rows: _abs_log(rows[0]["c"]),
    "abs_log_b_randomised": lambda rows: _abs_log(rows[-1]["b"]),  # after full randomisation
    "abs_log_c_randomised": lambda rows: _abs_log(rows[-1]["c"]),
    "spearman_randomised": lambda rows: float(rows[-1]["spearman"]),  # rho of |map| after it
}

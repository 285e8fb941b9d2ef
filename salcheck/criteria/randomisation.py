"""Model-randomisation sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"):
what is read off a cascading-randomisation curve.

The curve (:func:`salcheck.engine.randomisation.cascading_randomisation`, which recomputes the
maps) re-initialises the trainable layers one by one from the output backwards. A method that
explains the model should lose its structure: the Spearman rank correlation of |map| before and
after (:func:`spearman_rows`) falls towards 0, and b and c of the randomised typical group map
fall towards 1 (:data:`RANDOMISATION_SCORES`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata


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

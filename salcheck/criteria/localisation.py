"""Per-image localisation metrics on exact per-image masks (the atrophied ROI as drawn).

Each works on |map| of one image against its boolean mask; an empty mask yields NaN, never a hit.

- relevance mass accuracy (Arras et al. 2022): sum_{mask} |m| / sum |m|; chance = mask share.
- relevance rank accuracy (Arras et al. 2022): share of the K = |mask| highest |m| pixels that
  fall inside the mask; chance = mask share.
- ROC-AUC: probability that a random mask pixel has a higher |m| than a random outside pixel
  (ties count one half); chance = 0.5.
- pointing game (Zhang et al. 2018): 1 if the pixel of largest |m| lies in the mask, else 0
  (first in row-major order on ties); chance = mask share.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.stats import rankdata

from salcheck.criteria.base import Criterion, Inputs
from salcheck.errors import InvalidArgument


def _check(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.abs(np.asarray(maps, dtype=np.float64))
    s = np.asarray(masks, dtype=bool)
    if a.ndim == s.ndim + 1 and a.shape[1] == 1:  # [n, 1, ...] maps against [n, ...] masks
        a = a[:, 0]
    if a.shape != s.shape:
        msg = f"maps of shape {a.shape} do not match masks of shape {s.shape}"
        raise InvalidArgument(msg)
    return a.reshape(len(a), -1), s.reshape(len(s), -1)


def relevance_mass_accuracy(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    a, s = _check(maps, masks)
    total = a.sum(1)
    inside = (a * s).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inside / total
    out[~s.any(1)] = np.nan
    return out


def relevance_rank_accuracy(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    a, s = _check(maps, masks)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        k = int(s[i].sum())
        if k:
            top = np.argsort(-a[i], kind="stable")[:k]
            out[i] = s[i, top].mean()
    return out


def roc_auc(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    a, s = _check(maps, masks)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        n_pos = int(s[i].sum())
        n_neg = s.shape[1] - n_pos
        if n_pos and n_neg:
            ranks = rankdata(a[i])
            out[i] = (ranks[s[i]].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


def pointing_game(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    a, s = _check(maps, masks)
    hit = s[np.arange(len(a)), a.argmax(1)].astype(float)
    hit[~s.any(1)] = np.nan
    return hit


_MASKS = {"typical": "typical_masks", "atypical": "atypical_masks"}


class _PerImage(Criterion):
    """Mean over the images of a per-image metric, against each image's own ROI mask, for
    the typical and the atypical atrophied images (keys ``<prefix>_typical``, ``..._atypical``)."""

    category = "localisation"
    chance: ClassVar[float | None] = None  # the share of the image the mask covers (0.5 for ROC-AUC)
    prefix: ClassVar[str]

    @staticmethod
    def metric(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute(self, inputs: Inputs) -> dict[str, float]:
        out = {}
        for sub, masks in _MASKS.items():
            images = inputs.cohort.subset(np.asarray(inputs.members[sub]))
            values = self.metric(inputs.maps[sub], getattr(images, masks))
            out[f"{self.prefix}_{sub}"] = _nanmean(values)
        return out


def _nanmean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


class RelevanceMassAccuracy(_PerImage):
    name, symbol, prefix = "relevance mass accuracy", "RMA", "rma"
    formula = "sum_mask |m| / sum |m|"
    keys = ("rma_typical", "rma_atypical")
    symbols: ClassVar[dict[str, str]] = {"rma_typical": "RMA typ", "rma_atypical": "RMA atyp"}
    metric = staticmethod(relevance_mass_accuracy)


class RelevanceRankAccuracy(_PerImage):
    name, symbol, prefix = "relevance rank accuracy", "RRA", "rra"
    formula = "|top-K(|m|) ∩ mask| / K, K = |mask|"
    keys = ("rra_typical", "rra_atypical")
    symbols: ClassVar[dict[str, str]] = {"rra_typical": "RRA typ", "rra_atypical": "RRA atyp"}
    metric = staticmethod(relevance_rank_accuracy)


class RocAuc(_PerImage):
    name, symbol, prefix = "ROC-AUC", "AUC", "auc"
    formula = "P(|m|(inside) > |m|(outside)), ties 1/2"
    chance = 0.5
    keys = ("auc_typical", "auc_atypical")
    symbols: ClassVar[dict[str, str]] = {"auc_typical": "AUC typ", "auc_atypical": "AUC atyp"}
    metric = staticmethod(roc_auc)


class PointingGame(_PerImage):
    name, symbol, prefix = "pointing game", "PG", "pointing"
    formula = "1[argmax |m| in mask]"
    keys = ("pointing_typical", "pointing_atypical")
    symbols: ClassVar[dict[str, str]] = {"pointing_typical": "PG typ", "pointing_atypical": "PG atyp"}
    metric = staticmethod(pointing_game)


LOCALISATION = {
    "rma": relevance_mass_accuracy,
    "rra": relevance_rank_accuracy,
    "auc": roc_auc,
    "pointing": pointing_game,
}


def localisation_scores(maps: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """Mean of each localisation metric over the images (NaN-aware)."""
    return {key: _nanmean(fn(maps, masks)) for key, fn in LOCALISATION.items()}

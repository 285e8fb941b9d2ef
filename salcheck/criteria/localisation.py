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
    """Per image: the share of its K = |mask| highest |m| pixels inside the mask, ties at the
    K-th value taken first in row-major order. All images at once: the K-th largest value t
    from one sort of values, then every pixel above t and the first (K - #above) equal to t."""
    a, s = _check(maps, masks)
    k = s.sum(1)
    out = np.full(len(a), np.nan)
    finite = np.isfinite(a).all(1)
    if finite.any():
        af, sf, kf = a[finite], s[finite], k[finite]
        t = np.sort(af, axis=1)[np.arange(len(af)), np.clip(af.shape[1] - kf, 0, af.shape[1] - 1)]
        above = af > t[:, None]
        tied = af == t[:, None]
        first_tied = tied & (np.cumsum(tied, axis=1) <= (kf - above.sum(1))[:, None])
        hits = ((above | first_tied) & sf).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[finite] = np.where(kf > 0, hits / kf, np.nan)
    for i in np.flatnonzero(~finite):  # NaN in a map: the stable sort's order, one image
        if k[i]:
            out[i] = s[i, np.argsort(-a[i], kind="stable")[: k[i]]].mean()
    return out


def _average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of each row, ties given their average (scipy's ``rankdata`` per row): one
    sort per row; tied values are contiguous in any sorted order, so their average is exact."""
    order = np.argsort(a, axis=1)
    ordered = np.take_along_axis(a, order, axis=1)
    n = a.shape[1]
    j = np.broadcast_to(np.arange(n), a.shape)
    starts = np.ones(a.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(a.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, j, 0), axis=1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, j, n - 1), 1), axis=1), 1)
    ranks = np.empty(a.shape)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    return ranks


def roc_auc(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per image, by the Mann-Whitney U of its mask pixels' |m| ranks (average ranks on ties):
    (sum of mask ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg); NaN for an empty or full
    mask, or a map holding NaN."""
    a, s = _check(maps, masks)
    n_pos = s.sum(1)
    n_neg = s.shape[1] - n_pos
    out = np.full(len(a), np.nan)
    ok = np.isfinite(a).all(1) & (n_pos > 0) & (n_neg > 0)
    if ok.any():
        ranks = _average_ranks(a[ok])
        u = np.where(s[ok], ranks, 0.0).sum(1) - n_pos[ok] * (n_pos[ok] + 1) / 2  # halves: exact
        out[ok] = u / (n_pos[ok] * n_neg[ok])
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

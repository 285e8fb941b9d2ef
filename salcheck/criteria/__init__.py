"""Stage 5: criteria a, b, c (and daggers), localisation metrics and the randomisation check."""

from salcheck.criteria.base import Criterion, CriterionInfo, Inputs, region_mean
from salcheck.criteria.localisation import (
    PointingGame,
    RelevanceMassAccuracy,
    RelevanceRankAccuracy,
    RocAuc,
    localisation_scores,
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
)
from salcheck.criteria.protocol import CHOICES as PROTOCOL_CHOICES
from salcheck.criteria.protocol import EvalProtocol
from salcheck.criteria.randomisation import (
    RANDOMISATION_SCORES,
    RANDOMISATION_SYMBOLS,
    spearman_rows,
)
from salcheck.criteria.regions import (
    Separability,
    Specificity,
    analytic_regions,
    group_map_scores,
    group_regions,
    separability,
    specificity,
)
from salcheck.criteria.subtyping import (
    FeatureSubtyping,
    feature_subtyping,
    last_block_features,
    subtype_features_ari,
)


def part_of(criterion: str) -> str:
    """The part of an evaluation a criterion is read from: ``a`` from the features, the
    randomisation scores (F8's) from the curve, every other criterion from the maps."""
    if criterion == "a":
        return "features"
    if criterion in RANDOMISATION_SCORES:
        return "randomisation"
    return "maps"


#: The criteria on per-image and group maps (a method's evaluation), and on the model's
#: features (criterion a: the same for every method).
MAP_CRITERIA: list[type[Criterion]] = [
    Separability,
    Specificity,
    RelevanceMassAccuracy,
    RelevanceRankAccuracy,
    RocAuc,
    PointingGame,
]
FEATURE_CRITERIA: list[type[Criterion]] = [FeatureSubtyping]
CRITERIA: list[type[Criterion]] = [*FEATURE_CRITERIA, *MAP_CRITERIA]


def symbols() -> dict[str, str]:
    """Score key -> the symbol tables print, from every criterion's metadata and the
    randomisation scores'.

    Examples:
        >>> s = symbols()
        >>> s["b_dagger"], s["rma_typical"], s["spearman_randomised"]
        ('b†', 'RMA typ', 'ρ rand.')
    """
    return {**{k: v for c in CRITERIA for k, v in c.symbols.items()}, **RANDOMISATION_SYMBOLS}


__all__ = [
    "CRITERIA",
    "FEATURE_CRITERIA",
    "MAP_CRITERIA",
    "PROTOCOL_CHOICES",
    "RANDOMISATION_SCORES",
    "Criterion",
    "CriterionInfo",
    "EvalProtocol",
    "FeatureSubtyping",
    "Inputs",
    "PointingGame",
    "RelevanceMassAccuracy",
    "RelevanceRankAccuracy",
    "RocAuc",
    "Separability",
    "Specificity",
    "analytic_regions",
    "feature_subtyping",
    "group_map_scores",
    "group_regions",
    "last_block_features",
    "localisation_scores",
    "part_of",
    "pointing_game",
    "region_mean",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "roc_auc",
    "separability",
    "spearman_rows",
    "specificity",
    "subtype_features_ari",
    "symbols",
]  # fmt: skip

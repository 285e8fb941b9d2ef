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
from salcheck.criteria.randomisation import cascading_randomisation, spearman_rows
from salcheck.criteria.regions import (
    Separability,
    Specificity,
    map_criteria,
    random_map_criteria,
    separability,
    specificity,
)
from salcheck.criteria.subtyping import (
    FeatureSubtyping,
    feature_subtyping,
    last_block_features,
    subtype_features_ari,
)

CRITERIA: list[type[Criterion]] = [
    FeatureSubtyping,
    Separability,
    Specificity,
    RelevanceMassAccuracy,
    RelevanceRankAccuracy,
    RocAuc,
    PointingGame,
]

__all__ = [
    "CRITERIA", "Criterion", "CriterionInfo", "FeatureSubtyping", "Inputs", "PointingGame",
    "RelevanceMassAccuracy", "RelevanceRankAccuracy", "RocAuc", "Separability", "Specificity",
    "cascading_randomisation", "feature_subtyping", "last_block_features", "localisation_scores",
    "map_criteria", "pointing_game", "random_map_criteria", "region_mean", "relevance_mass_accuracy",
    "relevance_rank_accuracy", "roc_auc", "separability", "spearman_rows", "specificity",
    "subtype_features_ari",
]  # fmt: skip

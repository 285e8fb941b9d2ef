"""Stage 4: saliency methods (one class each) and the study's group maps."""

from .base import CONTROLS, SaliencyMethod
from .gradients import VanillaGradient
from .groups import group_map, subtype_maps
from .null import ConstantMap, RandomMap, SobelEdgeMap

__all__ = [
    "CONTROLS", "ConstantMap", "RandomMap", "SaliencyMethod", "SobelEdgeMap", "VanillaGradient",
    "group_map", "subtype_maps",
]  # fmt: skip

"""Stage 4: saliency methods (one class each) and the study's group maps."""

from .base import CONTROLS, TAGS, SaliencyMethod, method_tags
from .gradients import VanillaGradient
from .groups import group_map, subtype_maps
from .null import ConstantMap, RandomMap, SobelEdgeMap, UntrainedNetwork
from .rectifier import Deconvolution, GuidedBackprop

__all__ = [
    "CONTROLS", "TAGS", "ConstantMap", "Deconvolution", "GuidedBackprop", "RandomMap",
    "SaliencyMethod", "SobelEdgeMap", "UntrainedNetwork", "VanillaGradient", "group_map",
    "method_tags", "subtype_maps",
]  # fmt: skip

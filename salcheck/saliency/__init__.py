"""Stage 4: saliency methods (one class each) and the study's group maps."""

from salcheck.errors import SilentEquivalenceWarning
from salcheck.saliency.base import (
    CONTROLS,
    TAGS,
    AttributionMethod,
    CaptumAttribution,
    ModelContext,
    SaliencyMethod,
    method_tags,
)
from salcheck.saliency.captum_adapter import CaptumMethod
from salcheck.saliency.gradients import VanillaGradient
from salcheck.saliency.groups import group_map, subtype_maps
from salcheck.saliency.null import ConstantMap, RandomMap, SobelEdgeMap, UntrainedNetwork
from salcheck.saliency.rectifier import Deconvolution, GuidedBackprop

__all__ = [
    "CONTROLS",
    "TAGS",
    "AttributionMethod",
    "CaptumAttribution",
    "CaptumMethod",
    "ConstantMap",
    "Deconvolution",
    "GuidedBackprop",
    "ModelContext",
    "RandomMap",
    "SaliencyMethod",
    "SilentEquivalenceWarning",
    "SobelEdgeMap",
    "UntrainedNetwork",
    "VanillaGradient",
    "group_map",
    "method_tags",
    "subtype_maps",
]  # fmt: skip

"""The saliency methods salcheck knows by a short name (``salcheck benchmark --methods ...``).

Each entry builds a fresh method for a seed. captum's classes are used as captum ships them
(``guided-backprop-captum`` and ``deconvolution-captum`` included, so the benchmark can show
their silent equivalence on LeakyReLU networks); ``guided-backprop`` and ``deconvolution``
are salcheck's, with the rule applied to every rectifier. Sample counts are kept small for
CPU budgets and named here: IntegratedGradients 16 steps, SmoothGrad and GradientShap 8
samples at noise sd 0.1; Occlusion slides an N/8 window with stride N/16 (zero fill).
MONAI's classes (``monai-*``, needing ``salcheck[monai]``) are used as MONAI ships them
(:mod:`salcheck.saliency.monai_adapter`): SmoothGrad with 8 samples at MONAI's noise spread
(0.15 of each image's range) and magnitude; GuidedBackpropGrad, whose rule follows module
*names* containing ``relu``; GradCAM on the last Conv2d with MONAI's default post-processing,
which scales each map to [0, 1] *reversed* (the largest value becomes 0).
The null maps and the untrained network are chance references.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salcheck.errors import InvalidArgument
from salcheck.saliency.base import SaliencyMethod
from salcheck.saliency.captum_adapter import CaptumMethod, ScaledOcclusion
from salcheck.saliency.gradients import VanillaGradient
from salcheck.saliency.monai_adapter import MonaiMethod
from salcheck.saliency.null import ConstantMap, RandomMap, SobelEdgeMap, UntrainedNetwork
from salcheck.saliency.rectifier import Deconvolution, GuidedBackprop


def _captum(cls_name: str, base: str | None = None, **kwargs: Any) -> Callable[[int], SaliencyMethod]:
    def build(seed: int) -> SaliencyMethod:
        import captum.attr  # optional: salcheck[captum]

        wrapped = getattr(captum.attr, base) if base else None
        return CaptumMethod(getattr(captum.attr, cls_name), base=wrapped, seed=seed, **kwargs)

    return build


def _monai(cls_name: str, name: str, **kwargs: Any) -> Callable[[int], SaliencyMethod]:
    def build(seed: int) -> SaliencyMethod:
        try:
            import monai.visualize  # optional: salcheck[monai]
        except ImportError as exc:
            msg = f"MONAI's {cls_name} needs MONAI: pip install 'salcheck[monai]' ({exc})"
            raise InvalidArgument(msg) from exc
        return MonaiMethod(getattr(monai.visualize, cls_name), name=name, seed=seed, **kwargs)

    return build


def _occlusion(seed: int) -> SaliencyMethod:
    return ScaledOcclusion(seed=seed)


#: short name -> builder(seed): the methods ``salcheck benchmark`` runs by default, in order.
METHODS: dict[str, Callable[[int], SaliencyMethod]] = {
    "vanilla": lambda seed: VanillaGradient(seed=seed),
    "saliency": _captum("Saliency"),
    "input-x-gradient": _captum("InputXGradient"),
    "integrated-gradients": _captum("IntegratedGradients", n_steps=16),
    "smoothgrad": _captum(
        "NoiseTunnel",
        base="Saliency",
        name="SmoothGrad",
        nt_type="smoothgrad",
        nt_samples=8,
        stdevs=0.1,
    ),
    "guided-backprop": lambda seed: GuidedBackprop(seed=seed),
    "deconvolution": lambda seed: Deconvolution(seed=seed),
    "guided-backprop-captum": _captum("GuidedBackprop", name="GuidedBackprop (captum)"),
    "deconvolution-captum": _captum("Deconvolution", name="Deconvolution (captum)"),
    "deeplift": _captum("DeepLift", baselines="zeros"),
    "gradient-shap": _captum("GradientShap", baselines="zeros", n_samples=8, stdevs=0.1),
    "grad-cam": _captum("LayerGradCam", name="Grad-CAM"),
    "occlusion": _occlusion,
    "monai-smoothgrad": _monai("SmoothGrad", "SmoothGrad (MONAI)", n_samples=8),
    "monai-guided-backprop": _monai("GuidedBackpropGrad", "GuidedBackprop (MONAI)"),
}

#: short name -> builder(seed): methods known by name but left out of the default benchmark.
#: MONAI's GradCAM rectifies its map (ReLU): where the target's evidence is negative everywhere
#: (the controls node on atrophied images of a confident model) every map is 0, its criteria
#: are 0/0, and the benchmark's ranking refuses undefined values; name it to run it.
ON_REQUEST: dict[str, Callable[[int], SaliencyMethod]] = {
    "monai-grad-cam": _monai("GradCAM", "Grad-CAM (MONAI)"),
}

#: short name -> builder(seed): the chance references.
NULLS: dict[str, Callable[[int], SaliencyMethod]] = {
    "random": lambda seed: RandomMap(seed=seed),
    "sobel": lambda seed: SobelEdgeMap(seed=seed),
    "constant": lambda seed: ConstantMap(seed=seed),
    "untrained": lambda seed: UntrainedNetwork(seed=seed),
}

CATALOGUE = {**METHODS, **ON_REQUEST, **NULLS}


def build_method(name: str, seed: int = 0) -> SaliencyMethod:
    """The catalogued method called ``name`` (KeyError if there is none)."""
    return CATALOGUE[name](seed)

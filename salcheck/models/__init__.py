"""Stage 2: the networks (the study's ``ConvNet`` and ClinicaDL's ``Conv5_FC3``)."""

from salcheck.models.networks import (
    MODEL_NAMES,
    Conv5FC3,
    ConvNet,
    GeneratorDropout,
    build_model,
    reinitialise,
    trainable_layers,
    training_flops_per_image,
)

__all__ = [
    "MODEL_NAMES", "Conv5FC3", "ConvNet", "GeneratorDropout", "build_model", "reinitialise",
    "trainable_layers", "training_flops_per_image",
]  # fmt: skip

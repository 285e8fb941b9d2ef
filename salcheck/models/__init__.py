"""Stage 2: the networks (the study's ``ConvNet`` and ClinicaDL's ``Conv5_FC3``)."""

from salcheck.models.networks import (
    MODEL_NAMES,
    Conv5FC3,
    ConvNet,
    GeneratorDropout,
    build_model,
    load_weights,
    reinitialise,
    trainable_layers,
    training_flops_per_image,
    weights_bytes,
)

__all__ = [
    "MODEL_NAMES",
    "Conv5FC3",
    "ConvNet",
    "GeneratorDropout",
    "build_model",
    "load_weights",
    "reinitialise",
    "trainable_layers",
    "training_flops_per_image",
    "weights_bytes",
]  # fmt: skip

"""Stage 2: the networks (the study's ``ConvNet`` and ClinicaDL's ``Conv5_FC3``, and any other
through :mod:`salcheck.models.custom`)."""

from salcheck.models.custom import (
    FeatureSeam,
    build_network,
    check_network_name,
    load_network,
    network_fingerprint,
)
from salcheck.models.networks import (
    MODEL_NAMES,
    Conv5FC3,
    ConvNet,
    GeneratorDropout,
    build_model,
    load_state,
    load_weights,
    reinitialise,
    state_bytes,
    state_from_bytes,
    trainable_layers,
    training_flops_per_image,
    weights_bytes,
)

__all__ = [
    "MODEL_NAMES",
    "Conv5FC3",
    "ConvNet",
    "FeatureSeam",
    "GeneratorDropout",
    "build_model",
    "build_network",
    "check_network_name",
    "load_network",
    "load_state",
    "load_weights",
    "network_fingerprint",
    "reinitialise",
    "state_bytes",
    "state_from_bytes",
    "trainable_layers",
    "training_flops_per_image",
    "weights_bytes",
]  # fmt: skip

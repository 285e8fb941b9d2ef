"""Stage 2: the networks (the study's ``ConvNet`` and ClinicaDL's ``Conv5_FC3``, and any other
through :mod:`salcheck.models.custom`; the 3-D ``ConvNet3D`` in
:mod:`salcheck.models.networks3d`)."""

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
from salcheck.models.networks3d import ConvNet3D, build_model3d

__all__ = [
    "MODEL_NAMES",
    "Conv5FC3",
    "ConvNet",
    "ConvNet3D",
    "FeatureSeam",
    "GeneratorDropout",
    "build_model",
    "build_model3d",
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

"""Stage 3: training the study's networks: the loop (``loop``), losses, augmentations, the stop
rule and model selection (``stopping``), and several seeds at once (``batched``)."""

from salcheck.training.inference import accuracy, balanced_accuracy, normalise, predict
from salcheck.training.loop import (
    DEVICES,
    TrainConfig,
    TrainedModel,
    resolve_device,
    stratified_split,
    train,
)

__all__ = [
    "DEVICES", "TrainConfig", "TrainedModel", "accuracy", "balanced_accuracy", "normalise",
    "predict", "resolve_device", "stratified_split", "train",
]  # fmt: skip

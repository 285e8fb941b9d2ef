"""Training on volumes: the 2-D loop, losses, augmentations, stop rule and checkpoints, with the
network chosen by the cohort's dimension (ConvNet3D for ``convnet``)."""

import numpy as np
import pytest
import torch

from salcheck.cohort import make_cohort3d, preset
from salcheck.errors import InvalidArgument
from salcheck.models.networks3d import ConvNet3D
from salcheck.training import TrainConfig, train
from salcheck.training.inference import accuracy
from salcheck.training.loop import initial_network

pytestmark = pytest.mark.slow  # trains networks

SEED = 3


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def volumes():
    return make_cohort3d(preset("homogeneous", n_per_class=8, image_size=32), 0)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(epochs=2),
        TrainConfig(epochs=2, augmentations=("CropPad", "Erasing", "Noise", "Smoothing"), loss="L1Norm"),
    ],
    ids=["plain", "augmented"],
)
def test_a_volume_cohort_trains_a_3d_convnet_reproducibly(volumes, config):
    a, b = train(volumes, config, SEED), train(volumes, config, SEED)
    assert isinstance(a.model, ConvNet3D) and a.image_size == 32
    assert [h["epoch"] for h in a.history] == [1, 2]
    assert all(np.isfinite(h["train_loss"]) and np.isfinite(h["val_loss"]) for h in a.history)
    assert len(a.trajectory["steps"]) > 0
    wa, wb = _weights(a.model), _weights(b.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)  # same seed, same weights
    start = initial_network("convnet", 32, SEED, dims=3).state_dict()
    assert not all(torch.equal(start[k], wa[k]) for k in start)  # and training moved them


def test_accuracy_per_subtype_on_volumes(volumes):
    model = initial_network("convnet", 32, SEED, dims=3)
    acc = accuracy(model, volumes)
    assert 0 <= acc["balanced_accuracy"] <= 1
    assert any("atypical" in k for k in acc), sorted(acc)


def test_an_interrupted_3d_run_resumes_bit_identically(volumes, tmp_path):
    config = TrainConfig(epochs=3, augmentations=("Noise",), dropout=0.3)
    whole = train(volumes, config, SEED)
    file = tmp_path / "ckpt.safetensors"

    def kill_at_3(entry):
        if entry["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        train(volumes, config, SEED, checkpoint=file, key="k", progress=kill_at_3)
    resumed = train(volumes, config, SEED, checkpoint=file, key="k")
    assert resumed.timings["resumed_from_epoch"] == 1
    w, r = _weights(whole.model), _weights(resumed.model)
    assert all(torch.equal(w[k], r[k]) for k in w)


def test_a_network_that_takes_images_only_is_refused_for_volumes(volumes):
    with pytest.raises(InvalidArgument, match="conv5_fc3.*accepted for volumes.*convnet"):
        train(volumes, TrainConfig(epochs=1, model="conv5_fc3"), SEED)

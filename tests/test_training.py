import numpy as np
import pytest
import torch

from salcheck.cohort import make_cohort, preset
from salcheck.errors import InvalidArgument, TrainingDiverged
from salcheck.losses import get_loss
from salcheck.rng import derive_seed
from salcheck.training import (
    TrainConfig,
    accuracy,
    balanced_accuracy,
    normalise,
    predict,
    stratified_split,
    train,
)

pytestmark = pytest.mark.slow  # trains networks


@pytest.fixture(scope="module")
def tiny():
    return make_cohort(preset("homogeneous", n_per_class=40, image_size=32), 0)


def test_same_seed_gives_bit_identical_weights(tiny):
    cfg = TrainConfig(epochs=2, augmentations=("Noise", "CropPad", "Erasing", "Smoothing"), dropout=0.3)
    before = torch.random.get_rng_state()
    a, b = train(tiny, cfg, 3), train(tiny, cfg, 3)
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    c = train(tiny, cfg, 4)
    assert not torch.equal(sa["convolutions.0.weight"], c.model.state_dict()["convolutions.0.weight"])


def test_history_best_epoch_and_unaugmented_validation(tiny):
    cfg = TrainConfig(epochs=3, augmentations=("Noise",), loss="L1Norm")
    seen = []
    r = train(tiny, cfg, 1, progress=seen.append)
    assert [h["epoch"] for h in r.history] == [1, 2, 3] == [h["epoch"] for h in seen]
    assert set(r.history[0]) >= {"train_loss", "val_loss", "val_balanced_accuracy", "seconds"}
    assert r.best_epoch == 1 + int(np.argmin([h["val_loss"] for h in r.history]))
    # The kept model reproduces the best epoch's validation loss on unaugmented images.
    _, val = stratified_split(
        tiny.labels, tiny.subtypes, 0.2, np.random.default_rng(derive_seed(1, "split"))
    )
    logits = predict(r.model, normalise(tiny.images[val]))
    loss = get_loss("L1Norm")(logits, torch.as_tensor(tiny.labels[val], dtype=torch.long))
    assert loss.item() == pytest.approx(r.history[r.best_epoch - 1]["val_loss"], rel=1e-5)
    assert r.timings["train_s"] > 0


def test_stratified_split_keeps_every_group():
    labels = np.repeat([0, 1, 1, 1], [50, 5, 40, 5])
    subtypes = np.repeat([0, 0, 1, 2], [50, 5, 40, 5])
    tr, va = stratified_split(labels, subtypes, 0.2, np.random.default_rng(0))
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 100
    assert [
        int(((labels[va] == lab) & (subtypes[va] == s)).sum())
        for lab, s in [(0, 0), (1, 0), (1, 1), (1, 2)]
    ] == [10, 1, 8, 1]


def test_divergence_names_the_epoch(tiny):
    with pytest.raises(TrainingDiverged, match="at epoch 1"):
        train(tiny, TrainConfig(epochs=1, learning_rate=1e30, loss="L1"), 0)


def test_normalise_is_per_image_min_max():
    x = np.stack([np.full((1, 4, 4), 3.0), np.arange(16.0).reshape(1, 4, 4)])
    y = normalise(x)
    assert torch.equal(y[0], torch.zeros(1, 4, 4))
    assert y[1].min() == 0 and y[1].max() == 1


def test_accuracy_reports_per_label_and_subtype(tiny):
    r = train(tiny, TrainConfig(epochs=1), 0)
    test = make_cohort(preset("test", n_per_class=10, image_size=32), 1)
    acc = accuracy(r.model, test)
    assert set(acc) == {
        "balanced_accuracy",
        "accuracy_CN",
        "accuracy_CN_none",
        "accuracy_AD",
        "accuracy_AD_typical",
        "accuracy_AD_atypical",
    }
    assert all(0 <= v <= 1 for v in acc.values())


def test_balanced_accuracy():
    assert balanced_accuracy(np.array([0, 0, 1, 0]), np.array([0, 0, 1, 1])) == 0.75


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "epochs must be an integer >= 1, got epochs=0"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"dropout": 1.0}, r"dropout must lie in \[0, 1\)"),
        ({"val_fraction": 0}, "val_fraction"),
        ({"loss": "Hinge"}, "unknown loss"),
        ({"augmentations": ("Flip",)}, "unknown augmentation"),
        ({"model": "vgg"}, "unknown model"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        TrainConfig(**kwargs)


def test_device_names_are_resolved_or_refused(monkeypatch):
    from salcheck.training import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == resolve_device("cpu") == "cpu"
    with pytest.raises(InvalidArgument, match="device 'cuda' was asked for but no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(InvalidArgument, match="unknown device 'tpu'; accepted: auto, cpu, cuda"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"

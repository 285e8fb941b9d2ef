import numpy as np
import pytest
import torch

from salcheck.cohort import make_cohort, preset
from salcheck.errors import InvalidArgument, TrainingDiverged
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
from salcheck.training.losses import get_loss

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
        ({"model": "vgg"}, "unknown network 'vgg'"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        TrainConfig(**kwargs)


def test_device_names_are_resolved_or_refused(monkeypatch):
    from salcheck.training.loop import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == resolve_device("cpu") == "cpu"
    with pytest.raises(InvalidArgument, match="device 'cuda' was asked for but no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(InvalidArgument, match="unknown device 'tpu'; accepted: auto, cpu, cuda"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"


def test_early_stopping_stops_after_patience_epochs_without_improvement(tiny):
    """Stops once ``patience`` epochs in a row bring no validation loss below the best; the
    kept epoch under each rule is the best one run."""
    full = train(tiny, TrainConfig(epochs=12), 2)
    losses = [h["val_loss"] for h in full.history]
    stopped = train(tiny, TrainConfig(epochs=12, patience=2), 2)
    best, bad, expect = float("inf"), 0, 12
    for epoch, loss in enumerate(losses, 1):
        best, bad = (loss, 0) if loss < best else (best, bad + 1)
        if bad >= 2:
            expect = epoch
            break
    assert stopped.stop["epochs_run"] == len(stopped.history) == expect
    assert stopped.stop["reason"] == ("patience" if expect < 12 else "cap")
    # Same run up to the stop: the same losses, and the best epoch among those run.
    assert [h["val_loss"] for h in stopped.history] == losses[:expect]
    assert stopped.best_epoch == 1 + int(np.argmin(losses[:expect]))
    accs = [h["val_balanced_accuracy"] for h in stopped.history]
    assert stopped.stop["best_epochs"]["balanced_accuracy"] == 1 + int(np.argmax(accs))
    assert stopped.kept("loss")[0] == stopped.best_epoch


def test_stop_rule_tolerance_and_still_improving():
    from salcheck.training.stopping import StopRule, learned, still_improving

    rule = StopRule(epochs=10, patience=2, tolerance=0.1)
    entries = [1.0, 0.95, 0.92, 0.5]  # 0.95 and 0.92 are within 10% of 1.0: no improvement
    stops = [
        rule.observe({"epoch": i + 1, "val_loss": v, "val_balanced_accuracy": 0.5}, dict)
        for i, v in enumerate(entries)
    ]
    assert stops == [False, False, True, True] and rule.summary()["epochs_run"] == 3
    assert rule.summary()["best_epochs"] == {"loss": 3, "balanced_accuracy": 1}
    falling = [{"val_loss": 1.0 - 0.01 * i} for i in range(20)]
    flat = [{"val_loss": v} for v in [1.0, 0.5, *[0.6] * 18]]
    assert still_improving(falling, patience=None) and not still_improving(flat, patience=None)
    assert still_improving(falling, patience=5) and not still_improving(flat, patience=5)
    history = [{"val_balanced_accuracy": 0.5}, {"val_balanced_accuracy": 0.9}]
    assert learned(history, 2) and not learned(history, 1) and not learned(history, 3)


def test_patience_and_selection_are_checked():
    with pytest.raises(InvalidArgument, match="patience=0"):
        TrainConfig(patience=0)
    with pytest.raises(InvalidArgument, match="tolerance=1"):
        TrainConfig(tolerance=1)
    with pytest.raises(InvalidArgument, match="selection"):
        TrainConfig(selection="accuracy")

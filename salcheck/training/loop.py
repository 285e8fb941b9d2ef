"""Stage 3: training the study's networks (methods.md sections 2-4), seeded and in memory.

Defaults follow ClinicaDL: Adam (lr 1e-4, weight decay 1e-4), batch 8, 20 epochs, dropout 0,
per-image min-max normalisation before everything else, validation = 20% of the training
cohort stratified by (label, subtype), the model with the lowest validation loss kept.
The data stay in memory as one tensor: no per-image files, no loader worker processes.
Every random draw (initialisation, split, shuffling, augmentation, dropout) comes from child
seeds of the one ``seed``: on CPU the same cohort, configuration and seed give bit-identical
weights.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from salcheck.cohort import AnyCohort
from salcheck.errors import InvalidArgument, TrainingDiverged, check_choice
from salcheck.models.custom import build_network, check_network_name
from salcheck.models.networks import GeneratorDropout
from salcheck.rng import derive_seed, torch_generator
from salcheck.training.augment import AUGMENTATIONS, Compose
from salcheck.training.checkpoint import CheckpointFile, Resumed, run_identity, state_sha256
from salcheck.training.inference import balanced_accuracy, normalise, predict
from salcheck.training.losses import LOSSES, get_loss
from salcheck.training.stopping import SELECTIONS, StopRule

#: Optimiser steps whose losses a run records (:attr:`TrainedModel.trajectory`): a zoo model's
#: first steps are replayed from its initial state to catch a change of training meaning.
TRAJECTORY_STEPS = 32


@dataclass(frozen=True)
class TrainConfig:
    """How to train; every field overridable. Hashable, so it can name cached results."""

    model: str = "convnet"  # convnet (the poster's), conv5_fc3 (ClinicaDL 1.x's), or any network
    loss: str = "CE"  # CE, L1, L1Norm, SmoothL1, MSENorm
    augmentations: tuple[str, ...] = ()  # applied in this order: CropPad, Erasing, Noise, ...
    epochs: int = 20  # the cap: at most this many epochs
    batch_size: int = 8
    patience: int | None = None  # early stopping on validation loss (None: every epoch to the cap)
    tolerance: float = 0.0  # relative: an improvement is a validation loss below best * (1 - tol)
    selection: str = "loss"  # the validation metric that picks the kept epoch (stopping.SELECTIONS)
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    dropout: float = 0.0
    val_fraction: float = 0.2  # stratified by (label, subtype)
    device: str = "cpu"  # "cuda" to train on a GPU, "auto" for CUDA when present

    def __post_init__(self) -> None:
        check_network_name(self.model)
        check_choice("loss", self.loss, tuple(LOSSES))
        object.__setattr__(self, "augmentations", tuple(self.augmentations))
        for a in self.augmentations:
            check_choice("augmentation", a, tuple(AUGMENTATIONS))
        for name, lo in (("epochs", 1), ("batch_size", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                msg = f"{name} must be an integer >= {lo}, got {name}={v!r}"
                raise InvalidArgument(msg)
        if self.patience is not None and (
            isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 1
        ):
            msg = f"patience must be None or an integer >= 1, got patience={self.patience!r}"
            raise InvalidArgument(msg)
        if not 0 <= self.tolerance < 1:
            msg = f"tolerance must lie in [0, 1), got tolerance={self.tolerance!r}"
            raise InvalidArgument(msg)
        check_choice("selection", self.selection, SELECTIONS)
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            msg = f"learning_rate must be a finite number > 0, got {self.learning_rate!r}"
            raise InvalidArgument(msg)
        if not self.weight_decay >= 0:
            msg = f"weight_decay must be >= 0, got {self.weight_decay!r}"
            raise InvalidArgument(msg)
        if not 0 <= self.dropout < 1:
            msg = f"dropout must lie in [0, 1), got dropout={self.dropout!r}"
            raise InvalidArgument(msg)
        if not 0 < self.val_fraction < 1:
            msg = f"val_fraction must lie in (0, 1), got val_fraction={self.val_fraction!r}"
            raise InvalidArgument(msg)


@dataclass
class TrainedModel:
    """A trained network with its history (one dict per epoch) and timings."""

    model: nn.Module
    config: TrainConfig
    seed: int
    image_size: int
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    stop: dict[str, Any] = field(default_factory=dict)  # stopping.StopRule.summary()
    #: The training losses of the first :data:`TRAJECTORY_STEPS` optimiser steps, and the sha256
    #: of the initial weights they started from (:func:`initial_state_sha256`).
    trajectory: dict[str, Any] = field(default_factory=dict)
    #: The kept state under each selection rule (``config.selection``'s is loaded in ``model``).
    states: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict, repr=False)

    def kept(self, selection: str) -> tuple[int, dict[str, torch.Tensor]]:
        """(best epoch, state) under ``selection``: the model a run under that rule keeps."""
        check_choice("selection", selection, tuple(self.states))
        return int(self.stop["best_epochs"][selection]), self.states[selection]


def stratified_split(
    labels: np.ndarray, subtypes: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (train, validation): round(fraction * count) per (label, subtype)."""
    train, val = [], []
    for key in sorted(set(zip(labels.tolist(), subtypes.tolist(), strict=True))):
        idx = np.flatnonzero((labels == key[0]) & (subtypes == key[1]))
        idx = rng.permutation(idx)
        k = round(fraction * len(idx))
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


@dataclass
class Run:
    """The state of one training run: data on the device, network, optimiser, generators."""

    config: TrainConfig
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    model: nn.Module
    optimiser: torch.optim.Optimizer
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    augment: Compose
    shuffle_gen: torch.Generator
    aug_gen: torch.Generator
    steps: list[float] = field(default_factory=list)  # the first TRAJECTORY_STEPS losses
    init_sha256: str = ""  # of the initial weights


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> str:
    """ "cpu" or "cuda" for a device name; "auto" is CUDA when present, else the CPU."""
    check_choice("device", name, DEVICES)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        msg = "device 'cuda' was asked for but no CUDA device is present; accepted here: auto, cpu"
        raise InvalidArgument(msg)
    return name


def _device(config: TrainConfig) -> torch.device:
    return torch.device(resolve_device(config.device))


def initial_network(
    model: str, image_size: int, seed: int, *, dropout: float = 0.0, dims: int = 2
) -> nn.Module:
    """The network a run of ``seed`` starts from (on the CPU): its initial weights are drawn
    from the seed's ``init`` child alone, so every variant of one seed starts from them.
    ``dims``: 2 for images, 3 for volumes."""
    generator = torch_generator(derive_seed(seed, "init"))
    return build_network(model, image_size, dims=dims, dropout=dropout, generator=generator)


def start_run(cohort: AnyCohort, config: TrainConfig, seed: int) -> Run:
    """Split, normalise and move the data; build the seeded network, optimiser and generators."""
    device = _device(config)
    split_rng = np.random.default_rng(derive_seed(seed, "split"))
    train_idx, val_idx = stratified_split(cohort.labels, cohort.subtypes, config.val_fraction, split_rng)
    x = normalise(cohort.images).to(device)
    y = torch.as_tensor(cohort.labels, dtype=torch.long).to(device)
    model = initial_network(
        config.model, cohort.image_size, seed, dropout=config.dropout, dims=cohort.dims
    ).to(device)
    init_sha256 = state_sha256(model.state_dict())
    drop_gen = torch_generator(derive_seed(seed, "dropout"), device.type)
    for m in model.modules():
        if isinstance(m, GeneratorDropout):
            m.generator = drop_gen
    optimiser = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
    )
    return Run(
        config=config,
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_val=x[val_idx],
        y_val=y[val_idx],
        model=model,
        optimiser=optimiser,
        loss_fn=get_loss(config.loss),
        augment=Compose(config.augmentations),
        shuffle_gen=torch_generator(derive_seed(seed, "shuffle")),
        aug_gen=torch_generator(derive_seed(seed, "augment"), device.type),
        init_sha256=init_sha256,
    )


def record_step(run: Run, loss: float) -> None:
    """Keep the loss of one optimiser step while the run is within its first steps."""
    if len(run.steps) < TRAJECTORY_STEPS:
        run.steps.append(loss)


def trajectory(run: Run) -> dict[str, Any]:
    """What a run's replay is checked against: its first step losses and initial weights."""
    return {"steps": list(run.steps), "init_sha256": run.init_sha256}


def _train_epoch(run: Run, epoch: int) -> tuple[float, torch.Tensor]:
    """One pass over the shuffled training set: (mean loss, predictions in data order)."""
    config, model = run.config, run.model
    device = run.x_train.device
    model.train()
    order = torch.randperm(len(run.x_train), generator=run.shuffle_gen).to(device)
    total, correct = 0.0, []
    for i in range(0, len(order), config.batch_size):
        batch = order[i : i + config.batch_size]
        xb, yb = run.x_train[batch], run.y_train[batch]
        if run.augment:
            xb = run.augment(xb, run.aug_gen)
        logits = model(xb)
        loss = run.loss_fn(logits, yb)
        if not torch.isfinite(loss):
            msg = (
                f"training loss became {loss.item()} at epoch {epoch} (batch "
                f"{i // config.batch_size + 1}); try a lower learning rate than "
                f"{config.learning_rate}"
            )
            raise TrainingDiverged(msg)
        run.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        run.optimiser.step()
        record_step(run, loss.item())
        total += loss.item() * len(batch)
        correct.append(logits.argmax(1).detach())
    train_pred = torch.empty(len(order), dtype=torch.long, device=device)
    train_pred[order] = torch.cat(correct)
    return total / len(order), train_pred


def _epoch_entry(run: Run, epoch: int, train_loss: float, train_pred: torch.Tensor) -> dict[str, float]:
    """The epoch's history entry: losses and balanced accuracies on training and validation."""
    val_logits = predict(run.model, run.x_val)
    val_loss = run.loss_fn(val_logits, run.y_val.cpu()).item()
    if not math.isfinite(val_loss):
        msg = f"validation loss became {val_loss} at epoch {epoch}"
        raise TrainingDiverged(msg)
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "train_balanced_accuracy": balanced_accuracy(
            train_pred.cpu().numpy(), run.y_train.cpu().numpy()
        ),
        "val_balanced_accuracy": balanced_accuracy(
            val_logits.argmax(1).numpy(), run.y_val.cpu().numpy()
        ),
    }


def train(
    cohort: AnyCohort,
    config: TrainConfig,
    seed: int,
    *,
    progress: Callable[[dict[str, float]], None] | None = None,
    checkpoint: Path | None = None,
    key: str = "",
    warn: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Train ``config.model`` on ``cohort`` until the stop rule (:mod:`salcheck.training.stopping`);
    returns the model of the best validation epoch under ``config.selection``.

    ``progress`` receives each epoch's history entry as it ends. Raises
    :class:`TrainingDiverged` naming the epoch when a loss becomes NaN or infinite.

    With ``checkpoint`` (a file path), the run's state is written there after each finished
    epoch (:mod:`salcheck.training.checkpoint`), and a run that finds a valid checkpoint of
    ``key`` (the model's store key) and of the same seed, configuration and data continues
    from it, ending with the weights an uninterrupted run gives. A checkpoint it cannot trust
    is ignored, reported to ``warn`` (default: a ``RuntimeWarning``). The file is left in place:
    the caller removes it once the result is kept. ``timings["train_s"]`` covers this call only;
    ``timings["resumed_from_epoch"]`` is the epoch it continued from (0: from the start).
    """
    t_start, cpu_start = time.perf_counter(), time.process_time()
    run, rule, file, resumed = _begin(cohort, config, seed, checkpoint, key, warn or _warn)
    result = TrainedModel(run.model, config, seed, cohort.image_size)
    done = resumed.epoch if resumed is not None else 0
    result.history = list(resumed.history) if resumed is not None else []
    for epoch in range(done + 1, config.epochs + 1):
        if rule.reason is not None:  # restored from a run that had already stopped
            break
        t_epoch = time.perf_counter()
        train_loss, train_pred = _train_epoch(run, epoch)
        entry = _epoch_entry(run, epoch, train_loss, train_pred)
        entry["seconds"] = time.perf_counter() - t_epoch
        result.history.append(entry)
        if progress is not None:
            progress(entry)
        stop = rule.observe(entry, run.model.state_dict)
        if file is not None:
            file.save(run, rule, result.history, epoch)
        if stop:
            break
    finish(result, rule)
    result.trajectory = trajectory(run)
    result.timings = {
        "train_s": time.perf_counter() - t_start,
        "train_cpu_s": time.process_time() - cpu_start,  # CPU time: unaffected by other load
        "s_per_epoch": float(np.mean([h["seconds"] for h in result.history])),
    }
    if file is not None:
        result.timings["resumed_from_epoch"] = done
    return result


def _warn(msg: str) -> None:
    warnings.warn(msg, RuntimeWarning, stacklevel=3)


def _begin(
    cohort: AnyCohort,
    config: TrainConfig,
    seed: int,
    checkpoint: Path | None,
    key: str,
    warn: Callable[[str], None],
) -> tuple[Run, StopRule, CheckpointFile | None, Resumed | None]:
    """(run, stop rule, checkpoint file, what was resumed): a fresh run, or the one restored
    from ``checkpoint`` when it holds a valid checkpoint of this run."""
    run, rule = start_run(cohort, config, seed), stop_rule(config)
    if checkpoint is None:
        return run, rule, None, None
    file = CheckpointFile(Path(checkpoint), key, run_identity(run, seed))
    resumed = file.load(run, rule, warn)
    if resumed is None and file.path.exists():  # refused: the run may be partly restored
        run, rule = start_run(cohort, config, seed), stop_rule(config)
    return run, rule, file, resumed


def stop_rule(config: TrainConfig) -> StopRule:
    """The stop rule and checkpoints of one run of ``config``."""
    return StopRule(config.epochs, config.patience, config.tolerance)


def finish(result: TrainedModel, rule: StopRule) -> None:
    """Load the state ``result.config.selection`` keeps, and record the stop and every rule's
    kept state in ``result``."""
    result.stop = rule.summary()
    result.states = {k: c.state for k, c in rule.checkpoints.items()}
    result.best_epoch = rule.checkpoints[result.config.selection].epoch
    result.model.load_state_dict(result.states[result.config.selection])
    result.model.eval()

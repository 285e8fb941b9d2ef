"""Train several models of one cell at once, as one grouped network (several seeds, one pass).

K ConvNets (:class:`salcheck.models.networks.ConvNet`) become one network whose convolutions are grouped
convolutions with K groups, whose BatchNorm runs over the K x C channels (BatchNorm is
per channel, so this is K BatchNorms), and whose last Linear layer is a batched product. Each
model keeps everything it would have had alone: its own training cohort, split, initial
weights, data order and augmentation draws (the same generators, drawn in the same order, as
:func:`salcheck.training.loop.train`), its own loss (the sum of the K losses has, for each model's
parameters, the gradient of that model's loss), and its own Adam state (Adam is elementwise).
It is therefore the model it would have been alone up to float rounding (grouped kernels sum in
another order); ``tests/test_batched.py`` shows it. Supported: the ``convnet`` network without
dropout; :func:`supports` says whether a configuration qualifies.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from salcheck.cohort import Cohort
from salcheck.errors import InvalidArgument, TrainingDiverged
from salcheck.models.networks import ConvNet
from salcheck.training.inference import balanced_accuracy
from salcheck.training.loop import (
    Run,
    TrainConfig,
    TrainedModel,
    finish,
    record_step,
    start_run,
    stop_rule,
    trajectory,
)


def _head(net: nn.Module) -> nn.Linear:
    """The last Linear layer of a ConvNet."""
    head = net.classifier[-1]  # type: ignore[index]
    assert isinstance(head, nn.Linear)
    return head


def supports(config: TrainConfig) -> bool:
    """Whether :func:`train_batched` can train models of ``config``."""
    return config.model == "convnet" and config.dropout == 0.0


class GroupedConvNet(nn.Module):
    """K ConvNets as one network: input [B, K, N, N] (model k's image in channel k), output
    [K, B, 2]."""

    def __init__(self, nets: Sequence[nn.Module]) -> None:
        super().__init__()
        if not nets or not all(isinstance(n, ConvNet) for n in nets):
            msg = f"GroupedConvNet groups ConvNets, got {[type(n).__name__ for n in nets]}"
            raise InvalidArgument(msg)
        self.k = k = len(nets)
        layers: list[nn.Module] = []
        for parts in zip(*(n.convolutions for n in nets), strict=True):
            first = parts[0]
            if isinstance(first, nn.Conv2d):
                conv = nn.Conv2d(first.in_channels * k, first.out_channels * k, 3, padding=1, groups=k)
                conv.weight = nn.Parameter(torch.cat([p.weight.detach() for p in parts]))
                conv.bias = nn.Parameter(torch.cat([p.bias.detach() for p in parts]))
                layers.append(conv)
            elif isinstance(first, nn.BatchNorm2d):
                bn = nn.BatchNorm2d(first.num_features * k)
                for name in ("weight", "bias"):
                    setattr(
                        bn, name, nn.Parameter(torch.cat([getattr(p, name).detach() for p in parts]))
                    )
                for name in ("running_mean", "running_var"):
                    setattr(bn, name, torch.cat([getattr(p, name) for p in parts]).clone())
                layers.append(bn)
            else:
                layers.append(copy.deepcopy(first))  # LeakyReLU, MaxPool2d: per channel
        self.convolutions = nn.Sequential(*layers)
        linears = [_head(n) for n in nets]
        self.weight = nn.Parameter(torch.stack([lin.weight.detach() for lin in linears]))  # [K, 2, F]
        self.bias = nn.Parameter(torch.stack([lin.bias.detach() for lin in linears]))  # [K, 2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.convolutions(x)
        f = f.reshape(f.shape[0], self.k, -1)  # model-major channels: [B, K, 64 h w]
        return torch.einsum("bkf,kof->kbo", f, self.weight) + self.bias[:, None, :]

    def unpack(self, nets: Sequence[nn.Module]) -> None:
        """Copy each model's share of the weights (and BatchNorm statistics) into ``nets``."""
        with torch.no_grad():
            for parts, grouped in zip(
                zip(*(n.convolutions for n in nets), strict=True), self.convolutions, strict=True
            ):
                for name in ("weight", "bias", "running_mean", "running_var"):
                    whole = getattr(grouped, name, None)
                    if whole is None:
                        continue
                    for p, share in zip(parts, whole.chunk(self.k), strict=True):
                        getattr(p, name).copy_(share)
                if isinstance(grouped, nn.BatchNorm2d):
                    for p in parts:
                        p.num_batches_tracked.copy_(grouped.num_batches_tracked)
            for i, n in enumerate(nets):
                _head(n).weight.copy_(self.weight[i])
                _head(n).bias.copy_(self.bias[i])


def _step(
    runs: list[Run],
    net: GroupedConvNet,
    optimiser: torch.optim.Optimizer,
    i: int,
    epoch: int,
    orders: list[torch.Tensor],
) -> tuple[list[float], list[torch.Tensor]]:
    """One optimiser step on batch ``i`` of every model; (losses, predictions) per model."""
    config = runs[0].config
    xs, ys = [], []
    for r, order in zip(runs, orders, strict=True):
        batch = order[i : i + config.batch_size]
        xb = r.x_train[batch]
        if r.augment:
            xb = r.augment(xb, r.aug_gen)
        xs.append(xb[:, 0])
        ys.append(r.y_train[batch])
    logits = net(torch.stack(xs, 1))
    losses = [r.loss_fn(logits[k], ys[k]) for k, r in enumerate(runs)]
    total = torch.stack(losses).sum()
    if not torch.isfinite(total):
        bad = [k for k, loss in enumerate(losses) if not torch.isfinite(loss)]
        msg = f"training loss of model(s) {bad} became non-finite at epoch {epoch}"
        raise TrainingDiverged(msg)
    optimiser.zero_grad(set_to_none=True)
    total.backward()
    optimiser.step()
    return [float(loss.item()) for loss in losses], [lg.argmax(1).detach() for lg in logits]


@torch.no_grad()
def _validate(runs: list[Run], net: GroupedConvNet, batch_size: int = 64) -> torch.Tensor:
    net.eval()
    x = torch.stack([r.x_val[:, 0] for r in runs], 1)
    return torch.cat([net(x[i : i + batch_size]) for i in range(0, len(x), batch_size)], 1)


def _entry(
    r: Run,
    epoch: int,
    train_loss: float,
    order: torch.Tensor,
    preds: list[torch.Tensor],
    val_logits: torch.Tensor,
    seconds: float,
) -> dict[str, float]:
    """One model's history entry for the epoch, as :func:`salcheck.training.loop.train` writes it."""
    train_pred = torch.empty(len(order), dtype=torch.long, device=order.device)
    train_pred[order] = torch.cat(preds)
    val_loss = r.loss_fn(val_logits.cpu(), r.y_val.cpu()).item()
    if not math.isfinite(val_loss):
        raise TrainingDiverged(f"validation loss became {val_loss} at epoch {epoch}")
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "train_balanced_accuracy": balanced_accuracy(train_pred.cpu().numpy(), r.y_train.cpu().numpy()),
        "val_balanced_accuracy": balanced_accuracy(
            val_logits.argmax(1).cpu().numpy(), r.y_val.cpu().numpy()
        ),
        "seconds": seconds,
    }


def train_batched(
    cohorts: Sequence[Cohort], config: TrainConfig, seeds: Sequence[int]
) -> list[TrainedModel]:
    """Train one model per (cohort, seed) of ``config`` at once; each as :func:`train` would."""
    if not supports(config):
        msg = (
            f"batched training needs model 'convnet' and dropout 0, got model={config.model!r}, "
            f"dropout={config.dropout}"
        )
        raise InvalidArgument(msg)
    t_start = time.perf_counter()
    runs = [start_run(c, config, s) for c, s in zip(cohorts, seeds, strict=True)]
    sizes = {(len(r.x_train), len(r.x_val)) for r in runs}
    if len(sizes) != 1:
        raise InvalidArgument(f"models of one batch need equal split sizes, got {sorted(sizes)}")
    device = runs[0].x_train.device
    net = GroupedConvNet([r.model for r in runs]).to(device)
    optimiser = torch.optim.Adam(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
    )
    results = [
        TrainedModel(r.model, config, s, c.image_size)
        for r, s, c in zip(runs, seeds, cohorts, strict=True)
    ]
    rules = [stop_rule(config) for _ in runs]
    n = len(runs[0].x_train)
    for epoch in range(1, config.epochs + 1):
        t_epoch = time.perf_counter()
        net.train()
        orders = [torch.randperm(n, generator=r.shuffle_gen).to(device) for r in runs]
        totals = [0.0] * len(runs)
        preds: list[list[torch.Tensor]] = [[] for _ in runs]
        for i in range(0, n, config.batch_size):
            losses, p = _step(runs, net, optimiser, i, epoch, orders)
            size = len(orders[0][i : i + config.batch_size])
            for k in range(len(runs)):
                record_step(runs[k], losses[k])
                totals[k] += losses[k] * size
                preds[k].append(p[k])
        val_logits = _validate(runs, net)
        net.unpack([r.model for r in runs])
        seconds = (time.perf_counter() - t_epoch) / len(runs)
        for k, r in enumerate(runs):
            if rules[k].reason is not None:
                continue  # stopped: trained on with the others, but nothing is recorded
            entry = _entry(r, epoch, totals[k] / n, orders[k], preds[k], val_logits[k], seconds)
            results[k].history.append(entry)
            rules[k].observe(entry, r.model.state_dict)
        if all(rule.reason is not None for rule in rules):
            break
    for k in range(len(runs)):
        finish(results[k], rules[k])
        results[k].trajectory = trajectory(runs[k])
        results[k].timings = {
            "train_s": (time.perf_counter() - t_start) / len(runs),
            "s_per_epoch": float(np.mean([h["seconds"] for h in results[k].history])),
            "batched_with": float(len(runs)),
        }
    return results

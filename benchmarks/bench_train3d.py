"""Training speed on volumes: seconds per epoch and per model of the ci3d tier, and the fraction
of this machine's matmul peak that 3-D training reaches, against 2-D training measured in the
same run (the machines are noisy: compare the ratios).

One thread (what each of ``salcheck run``'s workers uses). Prints as its last line one JSON
object: ``ci3d_s_per_epoch`` (homogeneous, 240 training + 60 validation volumes of 32^3, batch
2, epochs 2-3), ``ci_s_per_epoch`` (the 2-D ci tier's homogeneous epoch, 64 x 64, same batch,
measured in this run) and their ratio; ``convnet3d_volumes_per_s`` (training steps at batch 8),
``convnet3d_train_flops_per_volume`` (counted from the layer shapes),
``machine_matmul_gflops`` (float32 2048 x 2048 matmuls on one thread, this run),
``fraction_of_peak`` (achieved 3-D training FLOP/s over that rate) and the same for the 2-D
ConvNet at 64 x 64 (``convnet_fraction_of_peak``); and ``ci3d_model_s``, the seconds of one
ci3d model at ``epochs`` epochs (the mean the tier's stored models ran, when given as the first
argument; else 25).

    python benchmarks/bench_train3d.py [EPOCHS]
"""

from __future__ import annotations

import json
import sys
import time

import torch
from bench_train import matmul_gflops  # this folder's script: the same matmul rate, measured here

from salcheck.cohort import make_any_cohort
from salcheck.models.custom import build_network
from salcheck.models.networks import training_flops_per_image
from salcheck.store.tiers import get_tier
from salcheck.training.loop import TrainConfig, train


def steps_per_s(dims: int, size: int, batch: int = 8, steps: int = 6) -> float:
    """Training images (or volumes) per second of the study's ConvNet at batch ``batch``."""
    g = torch.Generator().manual_seed(0)
    model = build_network("convnet", size, dims=dims, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch, 1, *(size,) * dims, generator=g)
    y = torch.randint(0, 2, (batch,), generator=g)
    loss_fn = torch.nn.CrossEntropyLoss()
    for i in range(steps + 2):
        if i == 2:
            t = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return batch * steps / (time.perf_counter() - t)


def epoch_seconds(tier_name: str) -> float:
    """Seconds per epoch (epochs 2-3) of the tier's homogeneous default model, seed 0."""
    tier = get_tier(tier_name)
    spec = tier.spec("homogeneous")
    cohort = make_any_cohort(spec.train_spec(), 0, dims=tier.dims)
    config = TrainConfig(epochs=3, batch_size=tier.batch_size)
    history = train(cohort, config, 0).history
    return sum(h["seconds"] for h in history[1:]) / 2


def main() -> None:
    torch.set_num_threads(1)
    epochs = float(sys.argv[1]) if len(sys.argv) > 1 else 25.0
    peak = matmul_gflops(repeats=5)
    rate3d, rate2d = steps_per_s(3, 32), steps_per_s(2, 64, batch=32)
    flops3d = training_flops_per_image(
        build_network("convnet", 32, dims=3, generator=torch.Generator()), 32
    )
    flops2d = training_flops_per_image(build_network("convnet", 64, generator=torch.Generator()), 64)
    s3d, s2d = epoch_seconds("ci3d"), epoch_seconds("ci")
    print(
        json.dumps(
            {
                "ci3d_s_per_epoch": round(s3d, 2),
                "ci_s_per_epoch": round(s2d, 2),
                "epoch_ratio_3d_to_2d": round(s3d / s2d, 2),
                "convnet3d_volumes_per_s": round(rate3d, 1),
                "convnet3d_train_flops_per_volume": flops3d,
                "machine_matmul_gflops": round(peak, 1),
                "fraction_of_peak": round(rate3d * flops3d / 1e9 / peak, 3),
                "convnet_fraction_of_peak": round(rate2d * flops2d / 1e9 / peak, 3),
                "epochs": epochs,
                "ci3d_model_s": round(epochs * s3d),
            }
        )
    )


if __name__ == "__main__":
    main()

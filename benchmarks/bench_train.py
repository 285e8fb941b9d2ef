"""Training speed: seconds per epoch and fraction of the machine's matmul peak.

Prints as its last line one JSON object: conv5_fc3_s_per_epoch (800 training + 200 validation
images of 128 x 128, batch 8, the work of ClinicaDL's measured epoch), convnet_images_per_s
(training steps at batch 32, 128 x 128), convnet_train_flops_per_image (counted from the
layer shapes), machine_matmul_gflops (float32 2048 x 2048 matmuls, measured in this run) and
fraction_of_peak (achieved ConvNet training FLOP/s over that matmul rate), and the ci tier's
throughput in models per hour (homogeneous, 64 x 64, 20 epochs, extrapolated from epochs 2-3)
for one process using every core (``ci_models_per_hour_single``) against one one-thread
process per core side by side (``ci_models_per_hour_workers``, what ``salcheck run`` and the
pytest plugin do), with ``workers_speedup`` their ratio, measured in the same run; and
``ci_models_per_hour_batched``: the same one-thread processes, each training five seeds of the
cell at once as one grouped network (``salcheck run --batch-models 5``), with
``batched_speedup`` its ratio to one-at-a-time in the same layout (``..._workers``) and
``batched_peak_mib`` the peak resident memory of one batched process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import torch

from salcheck.cohort import make_cohort, preset
from salcheck.models.networks import build_model, training_flops_per_image
from salcheck.training.loop import TrainConfig, train


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def convnet_rate(batch: int = 32, steps: int = 15) -> float:
    g = torch.Generator().manual_seed(0)
    model = build_model("convnet", 128, generator=g).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch, 1, 128, 128, generator=g)
    y = torch.randint(0, 2, (batch,), generator=g)
    loss_fn = torch.nn.CrossEntropyLoss()
    for i in range(steps + 3):
        if i == 3:
            t = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return batch * steps / (time.perf_counter() - t)


def ci_epoch_seconds(threads: int) -> float:
    """(child process) Seconds per epoch (epochs 2-3) of a ci homogeneous model."""
    torch.set_num_threads(threads)
    cohort = make_cohort(preset("homogeneous", image_size=64), 0)
    history = train(cohort, TrainConfig(epochs=3), 0).history
    return sum(h["seconds"] for h in history[1:]) / 2


def ci_batched_epoch_seconds(threads: int, k: int = 5) -> float:
    """(child process) Seconds per epoch per model (epochs 2-3) of k ci homogeneous models
    trained at once; prints the peak resident memory (MiB) before it."""
    import resource

    from salcheck.training.batched import train_batched

    torch.set_num_threads(threads)
    cohorts = [make_cohort(preset("homogeneous", image_size=64), s) for s in range(k)]
    results = train_batched(cohorts, TrainConfig(epochs=3), list(range(k)))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return sum(r.history[1]["seconds"] + r.history[2]["seconds"] for r in results) / (2 * k)


def ci_models_per_hour(processes: int, threads: int, mode: str = "--child") -> tuple[float, float]:
    """(models per hour, peak MiB of a child) with ``processes`` children side by side."""
    cmd = [sys.executable, __file__, mode, str(threads)]
    children = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    outputs = [c.communicate()[0].split() for c in children]
    per_epoch = [float(out[-1]) for out in outputs]
    peak = max(float(out[-2]) for out in outputs) if mode == "--batched-child" else float("nan")
    return sum(3600 / (20 * s) for s in per_epoch), peak


def main() -> None:
    cores = os.cpu_count() or 1
    single, _ = ci_models_per_hour(1, cores)
    workers, _ = ci_models_per_hour(cores, 1)
    batched, batched_mib = ci_models_per_hour(cores, 1, "--batched-child")
    peak = matmul_gflops()
    rate = convnet_rate()
    flops = training_flops_per_image(build_model("convnet", 128, generator=torch.Generator()), 128)
    cohort = make_cohort(preset("homogeneous"), 0)  # 1,000 images: 800 train + 200 validation
    result = train(cohort, TrainConfig(model="conv5_fc3", epochs=2), 0)
    s_per_epoch = result.history[-1]["seconds"]
    print(f"threads={torch.get_num_threads()} epochs={[round(h['seconds'], 2) for h in result.history]}")
    print(
        json.dumps(
            {
                "conv5_fc3_s_per_epoch": round(s_per_epoch, 2),
                "convnet_images_per_s": round(rate, 1),
                "convnet_train_flops_per_image": flops,
                "machine_matmul_gflops": round(peak, 1),
                "fraction_of_peak": round(rate * flops / 1e9 / peak, 3),
                "ci_models_per_hour_single": round(single, 1),
                "ci_models_per_hour_workers": round(workers, 1),
                "workers_speedup": round(workers / single, 2),
                "ci_models_per_hour_batched": round(batched, 1),
                "batched_speedup": round(batched / workers, 2),
                "batched_peak_mib": round(batched_mib),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(ci_epoch_seconds(int(sys.argv[2])))
    elif sys.argv[1:2] == ["--batched-child"]:
        print(ci_batched_epoch_seconds(int(sys.argv[2])))
    else:
        main()

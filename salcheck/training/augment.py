"""Stage 3a: the study's training augmentations (methods.md section 3), on whole batches.

Each augmentation splits sampling from applying, as TorchIO does: ``make_params(x, generator)``
draws everything random for a batch ``x`` of shape [B, 1, N, N] (images) or [B, 1, N, N, N]
(volumes, each augmentation in its 3-D form) from an explicit
``torch.Generator`` and returns a dict; ``apply(x, params)`` is a pure function of both.
:class:`Compose` applies several in the given order and records an :class:`Applied` entry
per step, so any augmented batch can be replayed. Used on training batches only, after the
per-image min-max normalisation; never on validation, test or saliency inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from salcheck.errors import check_choice

Params = dict[str, torch.Tensor]


def _uniform(b: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(b, generator=g, dtype=torch.float64)


class Augmentation:
    """Base class: ``name``, ``make_params`` (random) and ``apply`` (pure)."""

    name: str = ""

    def make_params(self, x: torch.Tensor, generator: torch.Generator) -> Params:
        raise NotImplementedError

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.apply(x, self.make_params(x, generator))


class Noise(Augmentation):
    """x + N(0, sigma^2) per pixel, sigma ~ U(0, 0.1) per image; always applied, no clipping."""

    name = "Noise"

    def __init__(self, max_sigma: float = 0.1) -> None:
        self.max_sigma = max_sigma

    def make_params(self, x: torch.Tensor, generator: torch.Generator) -> Params:
        sigma = _uniform(x.shape[0], 0.0, self.max_sigma, generator)
        noise_seed = torch.randint(0, 2**62, (1,), generator=generator)
        return {"sigma": sigma, "noise_seed": noise_seed}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        g = torch.Generator(device=x.device).manual_seed(int(params["noise_seed"]))
        noise = torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)
        return x + noise * params["sigma"].to(x).view(-1, *[1] * (x.ndim - 1))


def gaussian_kernels(sigmas: torch.Tensor, truncate: float = 4.0) -> torch.Tensor:
    """One normalised 1D Gaussian per sigma, zero-padded to a common odd length.

    Radius int(truncate sigma + 0.5) per sigma, as ``scipy.ndimage.gaussian_filter``; a sigma
    of 0 gives the identity kernel.
    """
    radii = [int(truncate * float(s) + 0.5) for s in sigmas]
    r = max([*radii, 0])
    pos = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.zeros(len(radii), 2 * r + 1, dtype=torch.float64)
    for i, (s, ri) in enumerate(zip(sigmas.tolist(), radii, strict=True)):
        if s <= 0 or ri == 0:
            k[i, r] = 1.0
            continue
        w = torch.exp(-0.5 * (pos / s) ** 2) * (pos.abs() <= ri)
        k[i] = w / w.sum()
    return k


def _reflect_pad(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """scipy's 'reflect' boundary (d c b a | a b c d | d c b a), r <= size."""
    if r == 0:
        return x
    left = x.narrow(dim, 0, r).flip(dim)
    right = x.narrow(dim, x.shape[dim] - r, r).flip(dim)
    return torch.cat([left, x, right], dim)


def gaussian_blur(x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Blur each image of [B, 1, N, N] (or volume of [B, 1, N, N, N]) with its own sigma:
    separable, one 1-D pass per spatial axis, reflect boundary."""
    b, spatial = x.shape[0], x.ndim - 2
    k = gaussian_kernels(sigmas).to(x)
    r = (k.shape[1] - 1) // 2
    conv = F.conv2d if spatial == 2 else F.conv3d
    y = x.reshape(1, b, *x.shape[2:])
    for axis in range(spatial):
        shape = [1] * spatial
        shape[axis] = -1
        y = conv(_reflect_pad(y, r, 2 + axis), k.view(b, 1, *shape), groups=b)
    return y.reshape(x.shape)


class Smoothing(Augmentation):
    """Gaussian filter with sigma ~ U(0, max_sigma N/128) pixels per image; always applied.

    ClinicaDL draws sigma ~ U(0, 1) pixels on 128 x 128 images; like CropPad's shifts, the
    length scales with the image size N, so a 64 x 64 image is blurred by the same fraction.
    """

    name = "Smoothing"

    def __init__(self, max_sigma: float = 1.0) -> None:
        self.max_sigma = max_sigma  # at N = 128

    def make_params(self, x: torch.Tensor, generator: torch.Generator) -> Params:
        top = self.max_sigma * x.shape[-1] / 128
        return {"sigma": _uniform(x.shape[0], 0.0, top, generator)}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return gaussian_blur(x, params["sigma"])


def shift(image: torch.Tensor, *offsets: int) -> torch.Tensor:
    """Translate the last ``len(offsets)`` axes so that out[i, j] = image[i - d_row, j - d_col]
    (and out[k, i, j] = image[k - d_z, i - d_row, j - d_col] for three offsets), zero fill."""
    out = torch.zeros_like(image)
    sizes = image.shape[image.ndim - len(offsets) :]
    src: list[Any] = [...]
    dst: list[Any] = [...]
    for d, n in zip(offsets, sizes, strict=True):
        src.append(slice(max(0, -d), min(n, n - d)))
        dst.append(slice(max(0, d), min(n, n + d)))
    out[tuple(dst)] = image[tuple(src)]
    return out


class CropPad(Augmentation):
    """Integer shifts along each spatial axis (d_row, d_col; d_z first for volumes)
    ~ U{-m, ..., m-1}, m = round(10 N/128); zero fill."""

    name = "CropPad"

    def make_params(self, x: torch.Tensor, generator: torch.Generator) -> Params:
        m = max(1, round(10 * x.shape[-1] / 128))
        return {"shifts": torch.randint(-m, m, (x.shape[0], x.ndim - 2), generator=generator)}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return torch.stack([shift(x[i], *d) for i, d in enumerate(params["shifts"].tolist())])


class Erasing(Augmentation):
    """torchvision ``RandomErasing()`` defaults: p 0.5, area (0.02, 0.33), ratio (0.3, 3.3).

    With probability p, up to 10 tries draw an area fraction and a log-uniform aspect ratio;
    the first box that fits is set to 0. ``boxes`` rows are (erased, top, left, height, width).

    On volumes (torchvision has no 3-D form) a try draws a volume fraction v ~ U(area) and two
    log-uniform ratios r1 (height/width) and r2 (depth/sqrt(height width)), so that
    depth x height x width = v N^3: s = (v N^3 / r2)^(1/3), height = s sqrt(r1),
    width = s / sqrt(r1), depth = r2 s. ``boxes`` rows are then
    (erased, front, top, left, depth, height, width).
    """

    name = "Erasing"

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
    ) -> None:
        self.p, self.scale, self.ratio = p, scale, ratio

    def _sides(self, sizes: tuple[int, ...], generator: torch.Generator) -> tuple[int, ...]:
        """One try's box sides (height, width; depth first for volumes)."""
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        area = math.prod(sizes) * float(_uniform(1, *self.scale, generator))
        aspect = math.exp(float(_uniform(1, *log_ratio, generator)))
        if len(sizes) == 2:
            return round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        depth_ratio = math.exp(float(_uniform(1, *log_ratio, generator)))
        side = (area / depth_ratio) ** (1 / 3)
        return (
            round(depth_ratio * side),
            round(side * math.sqrt(aspect)),
            round(side / math.sqrt(aspect)),
        )

    def make_params(self, x: torch.Tensor, generator: torch.Generator) -> Params:
        sizes = tuple(x.shape[2:])
        boxes = torch.zeros(x.shape[0], 1 + 2 * len(sizes), dtype=torch.long)
        for i in range(x.shape[0]):
            if float(torch.rand(1, generator=generator)) >= self.p:
                continue
            for _ in range(10):
                sides = self._sides(sizes, generator)
                if all(d < n for d, n in zip(sides, sizes, strict=True)):
                    starts = [
                        int(torch.randint(0, n - d + 1, (1,), generator=generator))
                        for d, n in zip(sides, sizes, strict=True)
                    ]
                    boxes[i] = torch.tensor([1, *starts, *sides])
                    break
        return {"boxes": boxes}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        out = x.clone()
        axes = x.ndim - 2
        for i, (on, *box) in enumerate(params["boxes"].tolist()):
            if on:
                region: list[Any] = [i, slice(None)]
                region += [slice(a, a + d) for a, d in zip(box[:axes], box[axes:], strict=True)]
                out[tuple(region)] = 0
        return out


AUGMENTATIONS: dict[str, type[Augmentation]] = {
    "CropPad": CropPad,
    "Erasing": Erasing,
    "Noise": Noise,
    "Smoothing": Smoothing,
}


@dataclass(frozen=True)
class Applied:
    """What one augmentation drew for one batch."""

    name: str
    params: Params


class Compose:
    """Apply augmentations in the given order, recording each step in ``history``."""

    def __init__(self, names: tuple[str, ...] | list[str]) -> None:
        for n in names:
            check_choice("augmentation", n, tuple(AUGMENTATIONS))
        self.steps = [AUGMENTATIONS[n]() for n in names]
        self.history: list[Applied] = []

    def __bool__(self) -> bool:
        return bool(self.steps)

    def __call__(
        self, x: torch.Tensor, generator: torch.Generator, *, record: bool = False
    ) -> torch.Tensor:
        for step in self.steps:
            params = step.make_params(x, generator)
            if record:
                self.history.append(Applied(step.name, params))
            x = step.apply(x, params)
        return x

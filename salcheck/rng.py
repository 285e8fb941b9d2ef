"""Explicit randomness: every random function takes a seed or a generator.

Nothing in salcheck touches numpy's, torch's or Python's global random state. Stages derive
independent child seeds from one experiment seed with :func:`derive_seed`, so changing, say,
the number of augmentations never shifts the cohort's draws.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from salcheck.errors import InvalidArgument

if TYPE_CHECKING:
    import torch

Seed = int | np.random.Generator


def as_generator(seed: Seed) -> np.random.Generator:
    """Return a numpy Generator for an int seed, or the generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    msg = f"seed must be a non-negative int or a numpy Generator, got {seed!r}"

    raise InvalidArgument(msg)


def derive_seed(seed: int, *keys: str | int) -> int:
    """A child seed for ``keys`` (e.g. ``"cohort"``, ``"train"``), stable across runs.

    Uses numpy's SeedSequence with a spawn key made from the keys' CRC32, so children of one
    seed are statistically independent and do not depend on call order.
    """
    spawn_key = tuple(zlib.crc32(str(k).encode()) for k in keys)
    seq = np.random.SeedSequence(entropy=int(seed), spawn_key=spawn_key)
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def torch_generator(seed: int, device: str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with ``seed`` (never the global one)."""
    import torch  # start-up: cohort generation never loads torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen

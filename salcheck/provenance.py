"""Provenance of a result: seeds, package versions, git commit, machine, device and time."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from salcheck import __version__


@functools.cache
def git_commit() -> str | None:
    """The commit of the salcheck checkout in use, if it is one ('-dirty' if modified).

    Asked of git once per process: the code a process runs is what it loaded, so a commit
    made while it runs does not change what computed its results."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


@functools.cache
def _machine() -> tuple[tuple[str, Any], ...]:
    return (
        ("platform", platform.platform()),
        ("processor", platform.machine()),
        ("cpu", _cpu_model()),
        ("capability", str(torch.backends.cpu.get_cpu_capability())),
    )


def machine() -> dict[str, Any]:
    """The machine as floats depend on it: platform, processor, CPU model, the vector
    instructions torch's CPU kernels use (AVX2, AVX512, ...) and torch's thread count."""
    return {**dict(_machine()), "threads": torch.get_num_threads()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def provenance(**extra: Any) -> dict[str, Any]:
    """Versions, commit, machine (with torch's thread count) and time, plus ``extra``."""
    return {
        **extra,
        "versions": {
            "salcheck": __version__,
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": np.__version__,
            **{  # the optional packages this process used (a MONAI network, captum's methods)
                name: str(getattr(sys.modules[name], "__version__", "?"))
                for name in ("captum", "monai")
                if name in sys.modules
            },
        },
        "git_commit": git_commit(),
        "machine": machine(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }

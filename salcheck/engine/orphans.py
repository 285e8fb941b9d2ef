"""Worker processes that do not outlive their parent.

After ``kill -9`` of a ``salcheck run``, its pool workers would wait for tasks forever,
reparented to init, each holding a loaded torch (hundreds of MB). :func:`exit_with_parent`,
run as the pool's initializer, makes each worker exit within about a second of its parent's
death: on Linux the kernel sends it SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``);
everywhere, a daemon thread checks every ``interval`` seconds that the parent is still its
parent (``os.getppid()``; an orphan is reparented) and ends the process when it is not.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

#: linux/prctl.h
PR_SET_PDEATHSIG = 1


def _kill_on_parent_death() -> bool:
    """Ask the Linux kernel for SIGKILL when the parent dies; False where it is not available.

    The kernel ties this to the parent *thread* that started the worker: the pool is created,
    and its workers started, by the thread that waits on it (``_run_pool``), so that thread
    outlives them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)  # the parent is gone: nothing will collect this worker's results


def exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """Pool initializer: end this worker when the process ``parent`` (its parent's pid, passed
    by the parent) dies, within about ``interval`` seconds. See the module docstring."""
    _kill_on_parent_death()
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(
        target=_watch, args=(parent, interval), daemon=True, name="exit-with-parent"
    ).start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that exit when this process dies."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )
